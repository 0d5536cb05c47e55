import { z } from 'zod';

/** Public request shapes shared by several routes (API.md). */
export const IdParams = z.object({ id: z.string().min(1).max(200) });


