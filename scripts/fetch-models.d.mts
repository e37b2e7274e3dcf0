// Types for scripts/fetch-models.mjs (plain JS: setup runs it before node_modules exists).
export interface EnsureModelsOptions {
  /** the project root: conversions run the project's own converter from there */
  root: string;
  manifestPath: string;
  modelsDir: string;
  log: (message: string) => void;
}

export function ensureModels(options: EnsureModelsOptions): void;
