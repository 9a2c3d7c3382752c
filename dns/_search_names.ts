// The names a relative name is tried as, from the search list and ndots (resolv.conf(5)): a
// name with at least `ndots` dots is tried as given first, then with each search domain; one
// with fewer dots with the search domains first. Private to dns/.

/** The names to try for `name` (no trailing dot), in order. */
export function searchNames(name: string, search: string[], ndots: number): string[] {
  if (search.length === 0) return [name];
  const dots = name.split(".").length - 1;
  const searched = search.map((d) => `${name}.${d}`);
  return dots >= ndots ? [name, ...searched] : [...searched, name];
}
