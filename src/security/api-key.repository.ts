import Database from 'better-sqlite3';
import type { Answer, StoreMode } from '../store-mode.ts';

// Its own file rather than a table of gallery.sqlite: `npm run keys` manages keys without opening
// the gallery (no template key needed, no lock on the biometric data), and a copy of the gallery
// handed to someone else carries no credentials.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    operations TEXT NOT NULL,
    partitions TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at TEXT
  );
`;

export interface StoredApiKey {
  id: string;
  name: string;
  secretSha256: Buffer;
  /** JSON arrays as stored; the service parses them */
  operations: string;
  partitions: string;
  createdAt: string;
  revokedAt: string | null;
}

export type NewApiKey = Pick<StoredApiKey, 'id' | 'name' | 'secretSha256' | 'operations' | 'partitions'>;

/** Where API keys live: keys.sqlite in DATA_DIR, or PostgreSQL shared by every API node (DATABASE_URL). */
export interface ApiKeyStore<Mode extends StoreMode = StoreMode> {
  insert(key: NewApiKey): Answer<Mode, void>;
  find(id: string): Answer<Mode, StoredApiKey | undefined>;
  /** oldest first */
  list(): Answer<Mode, StoredApiKey[]>;
  revoke(id: string): Answer<Mode, boolean>;
}

const COLUMNS = 'id, name, secret_sha256 AS secretSha256, operations, partitions, created_at AS createdAt, revoked_at AS revokedAt';

/** `<dataDir>/keys.sqlite`: API keys as SHA-256 hashes of their secrets, never the secrets. */
export class ApiKeyRepository implements ApiKeyStore<'sync'> {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
    this.statements = {
      insert: this.db.prepare<[NewApiKey]>(
        'INSERT INTO api_keys (id, name, secret_sha256, operations, partitions) VALUES (@id, @name, @secretSha256, @operations, @partitions)',
      ),
      find: this.db.prepare<[string], StoredApiKey>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`),
      list: this.db.prepare<[], StoredApiKey>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`),
      revoke: this.db.prepare<[string]>(
        "UPDATE api_keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ? AND revoked_at IS NULL",
      ),
    };
  }

  insert(key: NewApiKey): void {
    this.statements.insert.run(key);
  }

  find(id: string): StoredApiKey | undefined {
    return this.statements.find.get(id);
  }

  list(): StoredApiKey[] {
    return this.statements.list.all();
  }

  revoke(id: string): boolean {
    return this.statements.revoke.run(id).changes === 1;
  }

  close(): void {
    this.db.close();
  }
}
