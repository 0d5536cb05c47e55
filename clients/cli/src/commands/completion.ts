import type { Command, Option } from 'commander';
import { CliError, ExitCode } from '../errors';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;

// Each shell asks `codeagent __complete <words typed so far>` at every Tab, so completion always
// matches this binary's commands and options, whichever version is installed.
const SCRIPTS: Record<string, string> = {
  bash: `# codeagent completion for bash: add to ~/.bashrc:  source <(codeagent completion bash)
_codeagent_complete() {
  local IFS=$'\\n'
  COMPREPLY=( $(codeagent __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
}
complete -o default -F _codeagent_complete codeagent
`,
  zsh: `#compdef codeagent
# codeagent completion for zsh: add to ~/.zshrc:  source <(codeagent completion zsh)
_codeagent() {
  local -a candidates
  candidates=("\${(@f)$(codeagent __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if (( \${#candidates[@]} )) && [[ -n "\${candidates[1]}" ]]; then compadd -- "\${candidates[@]}"; else _files; fi
}
if (( $+functions[compdef] )); then compdef _codeagent codeagent; fi
`,
  fish: `# codeagent completion for fish: codeagent completion fish > ~/.config/fish/completions/codeagent.fish
complete -c codeagent -f -a '(codeagent __complete (commandline -opc)[2..-1] (commandline -ct))'
`,
};

/** What can follow `words` (the last one being the word under the cursor, possibly empty). */
export function completionsFor(program: Command, words: string[]): string[] {
  const current = words.at(-1) ?? '';
  let cmd = program;
  const options = (c: Command): readonly Option[] => [...c.options, ...(c === program ? [] : program.options)];
  for (let i = 0; i < words.length - 1; i++) {
    const w = words[i]!;
    if (w === '--') return [];
    if (w.startsWith('-')) {
      const opt = options(cmd).find((o) => o.long === w.split('=')[0] || o.short === w);
      if (opt && (opt.required || opt.optional) && !w.includes('=')) i++; // its value
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) cmd = sub;
  }
  const candidates = current.startsWith('-')
    ? options(cmd).flatMap((o) => [o.long, o.short]).filter((x): x is string => Boolean(x))
    : cmd.commands.filter((c) => !c.name().startsWith('__')).map((c) => c.name());
  return [...new Set(candidates)].filter((c) => c.startsWith(current)).sort();
}

export function completionCommands(program: Command, run: Run): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script: bash, zsh or fish (e.g. source <(codeagent completion bash))')
    .action(
      run(async (ctx, shell: string) => {
        const script = SCRIPTS[shell];
        if (!script) throw new CliError(`no completion for "${shell}"; shells: ${Object.keys(SCRIPTS).join(', ')}`, ExitCode.usage);
        ctx.out.result({ shell, script }, () => process.stdout.write(script));
      }),
    );
  // Hidden: what the completion scripts call.
  program
    .command('__complete [words...]', { hidden: true })
    .allowUnknownOption()
    .helpOption(false)
    .action(() => {
      // The raw words: commander would take the global options (--json, --url) out of them.
      const words = process.argv.slice(process.argv.indexOf('__complete') + 1);
      process.stdout.write(completionsFor(program, words.length ? words : ['']).join('\n') + '\n');
    });
}
