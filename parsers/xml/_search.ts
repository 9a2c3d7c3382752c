/**
 * Searches of the XML parse buffer that remember their last answer, so the many small questions a
 * document asks cost about one native scan of the buffer in all.
 *
 * @module
 */

/** What the `Tokenizer's` searches return when the buffer holds no such character. */
export const NONE = 0x7fffffff;

/**
 * A search of the parse buffer that remembers its last answer. Asked again from anywhere between
 * where it last looked and what it found, the answer still holds, so the many small questions a
 * document asks (is there a '&' before the end of this text?) cost about one native scan of the
 * buffer in all, not a call per token.
 */
export class RememberedSearch {
  /** Where the last search started, or NONE. */
  from: number = NONE;
  /** What it found, or NONE for nothing. */
  at: number = NONE;

  constructor(readonly needle: string) {}

  /** The first `needle` in `buf` at or after `from`, or NONE. */
  find(buf: string, from: number): number {
    if (this.at >= from && from >= this.from) return this.at;
    return this.remember(from, buf.indexOf(this.needle, from));
  }

  /** True when the last answer holds for a search from `from`. */
  knows(from: number): boolean {
    return this.at >= from && from >= this.from;
  }

  /** Keeps `found` (negative for nothing) as the answer from `from`, and returns it. */
  remember(from: number, found: number): number {
    this.from = from;
    return this.at = found < 0 ? NONE : found;
  }

  /** The buffer dropped its first `cut` characters. */
  shift(cut: number): void {
    if (this.from !== NONE) this.from -= cut;
    if (this.at !== NONE) this.at -= cut;
  }

  /** The buffer grew: a search that found nothing must look again. */
  grown(): void {
    if (this.at === NONE) this.from = NONE;
  }

  /** The buffer changed under the last answer. */
  forget(): void {
    this.from = NONE;
    this.at = NONE;
  }
}
