/** Who is calling: every route and socket knows it, and every bus request carries its id as metadata.user. */
export interface Principal {
  /** The user's id (`local` in local mode). */
  userId: string;
  /** `admin` sees and touches everything; `member` only their own sessions, tasks and runs. */
  role: 'admin' | 'member';
  /** How they proved it. */
  via: 'local' | 'api-key' | 'jwt';
  /** An admin let this member use network `open` (PATCH /api/v1/users/:id); admins need no grant. */
  allowOpenNetwork?: boolean;
}

export const LOCAL_PRINCIPAL: Principal = { userId: 'local', role: 'admin', via: 'local' };

export const isAdmin = (p: Principal) => p.role === 'admin';
