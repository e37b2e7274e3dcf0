// Worker threads do not inherit the parent's TypeScript loader, so each one registers tsx first.
import { register } from 'tsx/esm/api';

register();
await import('./shard-worker.ts');
