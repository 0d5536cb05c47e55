/** One kept message of a project's conversation. */
export interface HistoryEntry {
  role: 'user' | 'assistant';
  /** User messages are kept as sent, without the `[Project: ...]` prefix (it is added when asking the model). */
  content: string;
  /** Which door it came through: the project's socket or the bus (`project-ci.chat`). */
  via: 'socket' | 'bus';
  at: string;
}

/** Per-project conversation history, bounded by the caller. */
export interface HistoryRepository {
  /** The newest `limit` entries, oldest first. */
  recent(projectId: string, limit: number): Promise<HistoryEntry[]>;
  /** Appends in order, then keeps only the newest `keep` entries of the project. */
  append(projectId: string, entries: HistoryEntry[], keep: number): Promise<void>;
  count(projectId: string): Promise<number>;
  clear(projectId: string): Promise<void>;
}

export interface ModelMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ModelRequest {
  projectId: string;
  provider?: string;
  model?: string;
  messages: ModelMessage[];
}

export interface ModelAnswer {
  text: string;
  provider: string;
  model: string;
}

/** The project's model, reached through the orchestrator's provider registry in production. */
export interface ModelClient {
  complete(req: ModelRequest): Promise<ModelAnswer>;
}
