/**
 * Iora's DNS layer: the wire codec, cache, UDP/TCP client and service
 * discovery will live here. Nothing is exported yet: the DNS client is not
 * implemented in this edition (see the README's feature table).
 *
 * @module
 */
export {};
