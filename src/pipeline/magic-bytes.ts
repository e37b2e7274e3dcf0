/** Whether `bytes` holds `signature` at `offset`: how image formats and their markers are recognised. */
export const startsWith = (bytes: Uint8Array, signature: readonly number[], offset = 0) => signature.every((b, i) => bytes[offset + i] === b);
