import { z } from 'zod';

/** The env variable of the data pattern; a service spreads it into its loadEnv({...}) shape. */
export const DatabaseEnv = {
  /**
   * Unset: a SQLite file per service under DATA_DIR. `file:<path>`: that SQLite file.
   * `postgresql://...`: PostgreSQL, each service in its own schema (named after it unless `?schema=`).
   */
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, 'expected file:<path>, postgres:// or postgresql://')
    .optional(),
};
