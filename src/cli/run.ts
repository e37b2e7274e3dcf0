/** A mistake in how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Runs a command-line tool: usage errors exit 2, other failures 1, each with a one-line message. */
export async function runCli(usage: string, main: (args: string[]) => void | Promise<void>): Promise<void> {
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${usage}\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
