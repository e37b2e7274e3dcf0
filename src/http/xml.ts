import { XMLBuilder } from 'fast-xml-parser';

export type XmlValue = string | number | boolean | XmlObject | XmlObject[];
export interface XmlObject {
  [element: string]: XmlValue;
}

// Every value goes through entity escaping (processEntities); ids are user strings and may hold
// `<`, `&` or `]]>`. Characters XML 1.0 cannot carry at all are refused earlier, in metadata.
const builder = new XMLBuilder({ format: false, processEntities: true, suppressEmptyNode: false });

export function toXml(rootElement: string, body: XmlObject): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [rootElement]: body })}`;
}

/** Scores are reported to four decimals: enough to tell values either side of a threshold apart. */
export function formatScore(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
