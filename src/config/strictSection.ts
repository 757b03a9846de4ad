// Config sections that refuse unknown keys with a message listing the keys they know, so a typo in a
// routes file is reported with what was probably meant.
import { z } from 'zod';

export function strictSection<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} (known fields: ${known})`
        : undefined,
  });
}
