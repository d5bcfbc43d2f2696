/**
 * `sac completion bash|zsh`: shell completion generated from the command tree itself, so it never
 * drifts from the real commands. Agent names complete from `sac agents list --quiet`.
 * @module
 */
import { Argument, type Command } from 'commander';
import { sub } from '../define.ts';

interface Node {
  path: string;
  words: string[];
  takesAgent: boolean;
}

/** Every command path with the words (subcommands and options) that may follow it. */
export function completionTable(root: Command): Node[] {
  const out: Node[] = [];
  const walk = (cmd: Command, path: string[]): void => {
    const words = [
      ...cmd.commands
        .filter((c) => !(c as unknown as { _hidden?: boolean })._hidden)
        .map((c) => c.name()),
      ...cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)),
      '--help',
    ];
    const takesAgent = cmd.registeredArguments.some((a) => /NAME|TARGET/i.test(a.name()));
    out.push({ path: path.join(' '), words, takesAgent });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(root, []);
  return out;
}

function bashScript(root: Command): string {
  const cases = completionTable(root)
    .map((n) => {
      const agents = n.takesAgent ? ' $(sac agents list --quiet 2>/dev/null)' : '';
      return `    "${n.path}") words="${n.words.join(' ')}${agents}" ;;`;
    })
    .join('\n');
  return `# bash completion for sac; install: sac completion bash > ~/.local/share/bash-completion/completions/sac
_sac_complete() {
  local cur path w words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) case " $(_sac_children "$path") " in *" $w "*) path="\${path:+$path }$w" ;; esac ;; esac
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
_sac_children() {
  case "$1" in
${completionTable(root)
  .map((n) => `    "${n.path}") echo "${n.words.filter((w) => !w.startsWith('-')).join(' ')}" ;;`)
  .join('\n')}
  esac
}
complete -F _sac_complete sac
`;
}

function zshScript(root: Command): string {
  return `#compdef sac
# zsh completion for sac; install: sac completion zsh > "\${fpath[1]}/_sac"
autoload -U +X bashcompinit && bashcompinit
${bashScript(root)}`;
}

export function registerCompletionCommand(program: Command): void {
  program.addCommand(
    sub(
      program
        .createCommand('completion')
        .description('print a shell completion script (bash or zsh)')
        .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
        .action((shell: 'bash' | 'zsh') => {
          process.stdout.write(shell === 'bash' ? bashScript(program) : zshScript(program));
        }),
    ),
  );
}
