// A read-only view of a FlatBuffers binary: tables found through their vtables, scalars, strings,
// vectors and unions. Only what a TFLite model needs; field ids come from the schema module.

const textDecoder = new TextDecoder('utf-8', { fatal: true });

export class FlatTable {
  constructor(
    private readonly view: DataView,
    readonly position: number,
  ) {}

  static root(bytes: Uint8Array): FlatTable {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 8) throw new Error('flatbuffer too short');
    return new FlatTable(view, view.getUint32(0, true));
  }

  /** The 4-character file identifier stored after the root offset. */
  static fileIdentifier(bytes: Uint8Array): string {
    return String.fromCharCode(...bytes.subarray(4, 8));
  }

  /** Absolute position of a field's value, or 0 when the field is absent (its default applies). */
  private field(id: number): number {
    const vtable = this.position - this.view.getInt32(this.position, true);
    const vtableSize = this.view.getUint16(vtable, true);
    const slot = 4 + id * 2;
    if (slot >= vtableSize) return 0;
    const relative = this.view.getUint16(vtable + slot, true);
    return relative === 0 ? 0 : this.position + relative;
  }

  private indirect(at: number): number {
    return at + this.view.getUint32(at, true);
  }

  int8(id: number, fallback = 0): number {
    const at = this.field(id);
    return at ? this.view.getInt8(at) : fallback;
  }

  uint8(id: number, fallback = 0): number {
    const at = this.field(id);
    return at ? this.view.getUint8(at) : fallback;
  }

  bool(id: number, fallback = false): boolean {
    const at = this.field(id);
    return at ? this.view.getUint8(at) !== 0 : fallback;
  }

  int32(id: number, fallback = 0): number {
    const at = this.field(id);
    return at ? this.view.getInt32(at, true) : fallback;
  }

  uint32(id: number, fallback = 0): number {
    const at = this.field(id);
    return at ? this.view.getUint32(at, true) : fallback;
  }

  float32(id: number, fallback = 0): number {
    const at = this.field(id);
    return at ? this.view.getFloat32(at, true) : fallback;
  }

  uint64(id: number, fallback = 0n): bigint {
    const at = this.field(id);
    return at ? this.view.getBigUint64(at, true) : fallback;
  }

  table(id: number): FlatTable | null {
    const at = this.field(id);
    return at ? new FlatTable(this.view, this.indirect(at)) : null;
  }

  string(id: number): string | null {
    const bytes = this.vectorBytes(id, 1);
    return bytes === null ? null : textDecoder.decode(bytes);
  }

  /** Start position and length of a vector field, or null when absent. */
  private vector(id: number): { start: number; length: number } | null {
    const at = this.field(id);
    if (!at) return null;
    const header = this.indirect(at);
    return { start: header + 4, length: this.view.getUint32(header, true) };
  }

  /** The raw bytes of a vector of fixed-size elements (a view, not a copy). */
  vectorBytes(id: number, elementSize: number): Uint8Array | null {
    const vector = this.vector(id);
    if (!vector) return null;
    return new Uint8Array(this.view.buffer, this.view.byteOffset + vector.start, vector.length * elementSize);
  }

  tables(id: number): FlatTable[] {
    const vector = this.vector(id);
    if (!vector) return [];
    return Array.from({ length: vector.length }, (_, i) => new FlatTable(this.view, this.indirect(vector.start + i * 4)));
  }

  int32s(id: number): number[] {
    const vector = this.vector(id);
    if (!vector) return [];
    return Array.from({ length: vector.length }, (_, i) => this.view.getInt32(vector.start + i * 4, true));
  }

  float32s(id: number): number[] {
    const vector = this.vector(id);
    if (!vector) return [];
    return Array.from({ length: vector.length }, (_, i) => this.view.getFloat32(vector.start + i * 4, true));
  }

  int64s(id: number): number[] {
    const vector = this.vector(id);
    if (!vector) return [];
    return Array.from({ length: vector.length }, (_, i) => Number(this.view.getBigInt64(vector.start + i * 8, true)));
  }

  /** A union is two fields: its type tag (a ubyte) at `id - 1` and the table at `id`. */
  union(id: number): { type: number; value: FlatTable | null } {
    return { type: this.uint8(id - 1), value: this.table(id) };
  }

  /** The whole binary, for buffers stored outside the flatbuffer by offset. */
  get bytes(): Uint8Array {
    return new Uint8Array(this.view.buffer, this.view.byteOffset, this.view.byteLength);
  }
}
