// Writes schemas/routes.schema.json from the zod schema (run by `npm run build`), so editors validate
// routes files against exactly what the app accepts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { routesJsonSchema } from './routes';

const target = path.resolve(process.argv[2] ?? path.join(process.cwd(), 'schemas', 'routes.schema.json'));
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, JSON.stringify({ $id: 'https://batchpilot.dev/schemas/routes.schema.json', ...(routesJsonSchema() as object) }, null, 2) + '\n');
