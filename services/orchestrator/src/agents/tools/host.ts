import type { TaskStatusV1 } from '@codeagent/contracts';

/**
 * What the agent tools act on: a session's workspace and jail. The orchestrator's implementation goes
 * over the bus (bus-host.ts); an MCP server or a test can give its own.
 */
export interface ToolHost {
  readFile(path: string): Promise<{ content: string; binary: boolean }>;
  writeFile(path: string, content: string): Promise<{ path: string; size: number }>;
  /** Deletes a file (apply_patch removing a file). */
  deleteFile(path: string): Promise<void>;
  listFiles(path: string, recursive: boolean): Promise<{ entries: { path: string; type: string; size: number }[]; truncated: boolean }>;
  searchFiles(query: string, opts: { regex: boolean; path: string; maxResults: number }): Promise<{ matches: { path: string; line: number; text: string }[]; truncated: boolean }>;
  runCommand(command: string, timeoutMs: number): Promise<{ exitCode: number; stdout: string; stderr: string; timedOut: boolean; durationMs: number }>;
  /** Absent where no task module answers. */
  updateTask?(input: { taskId: string; status?: TaskStatusV1; note?: string }): Promise<unknown>;
}
