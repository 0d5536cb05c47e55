/** The CI's name, seed 004 style: "Claude-Code" → "project-claude-code-ai". */
export function ciSocketName(projectName: string): string {
  const slug = projectName
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `project-${slug || 'unnamed'}-ai`;
}

/** Seed 004's port arithmetic: base + the project's index. Undefined when it falls outside TCP's range. */
export function portFor(base: number, index: number): number | undefined {
  const port = base + index;
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}
