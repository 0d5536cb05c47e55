import type { ShellAgentAttachOutputV1 } from '@codeagent/contracts';

/**
 * This replica's listeners for attach terminals' output (`shell.agent.attach.output`), by attachId.
 * Every gateway replica receives every such event; the one whose SSH channel opened the terminal
 * has a listener for it, the others drop it.
 */
export class AttachOutputs {
  private readonly listeners = new Map<string, (e: ShellAgentAttachOutputV1) => void>();

  add(attachId: string, listener: (e: ShellAgentAttachOutputV1) => void): void {
    this.listeners.set(attachId, listener);
  }

  remove(attachId: string): void {
    this.listeners.delete(attachId);
  }

  dispatch(e: ShellAgentAttachOutputV1): void {
    this.listeners.get(e.attachId)?.(e);
  }
}
