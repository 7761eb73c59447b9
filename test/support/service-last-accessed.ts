/**
 * moto 5.2.1 does not implement IAM's service last accessed data (GenerateServiceLastAccessedDetails and
 * GetServiceLastAccessedDetails are not in moto/iam/responses.py). This stands in for those two calls only, after the
 * role checker has checked them (TestBotOptions.decorateClient adds it after the role checker's middleware), as IAM
 * answers them: Generate returns a job id; Get answers IN_PROGRESS for the first `pollsInProgress` reads of a job,
 * then COMPLETED with `ServicesLastAccessed` (paginated by MaxItems / Marker, IsTruncated). For a group: the services
 * the test says its policies grant (none used, as the bot reads only the grant from a group's job); for a user: the
 * services its groups grant (the test says which groups), each with the time the test says the user last used it.
 * Every other call goes to moto.
 */
interface MiddlewareClient {
  middlewareStack: {
    add: (
      mw: (
        next: (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>,
      options: unknown,
    ) => void;
  };
}

const iamError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, Code: name, $fault: 'client', $metadata: { httpStatusCode: 404 } });

interface StandInJob {
  arn: string;
  polls: number;
  created: Date;
}

export class ServiceLastAccessedStandIn {
  /** Services (namespaces) each group's policies grant. */
  readonly grants = new Map<string, string[]>();
  /** Groups of each user (as the test made them in moto). */
  readonly groupsOf = new Map<string, string[]>();
  /** When each user last used each service (namespace → time). */
  readonly used = new Map<string, Map<string, Date>>();
  /** Every job generated, by id. */
  readonly jobs = new Map<string, StandInJob>();
  /** How many Get calls of a new job answer IN_PROGRESS before it completes. */
  pollsInProgress = 1;
  /** Called before each call is answered (a test's IAM latency on its clock). */
  onCall: () => void = () => {};
  /** Calls answered, by command name (for the tests' budgets). */
  readonly calls = new Map<string, number>();
  #seq = 0;

  use(userName: string, service: string, at: Date): void {
    const m = this.used.get(userName) ?? new Map<string, Date>();
    m.set(service, at);
    this.used.set(userName, m);
  }

  #services(arn: string): { ServiceName: string; ServiceNamespace: string; LastAuthenticated?: Date }[] {
    const [, kind, ...rest] = (arn.split(':')[5] ?? '').match(/^(user|group)\/(.*)$/) ?? [];
    const name = rest.join('/').split('/').at(-1) ?? '';
    const entry = (ns: string, at?: Date) => ({
      ServiceName: `Amazon ${ns}`,
      ServiceNamespace: ns,
      TotalAuthenticatedEntities: at ? 1 : 0,
      ...(at ? { LastAuthenticated: at, LastAuthenticatedEntity: arn } : {}),
    });
    if (kind === 'group') return (this.grants.get(name) ?? []).map((ns) => entry(ns));
    const namespaces = [...new Set((this.groupsOf.get(name) ?? []).flatMap((g) => this.grants.get(g) ?? []))].sort();
    return namespaces.map((ns) => entry(ns, this.used.get(name)?.get(ns)));
  }

  /** TestBotOptions.decorateClient. */
  readonly decorate = (client: unknown): void => {
    (client as MiddlewareClient).middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? '';
        if (name !== 'GenerateServiceLastAccessedDetailsCommand' && name !== 'GetServiceLastAccessedDetailsCommand')
          return next(args);
        this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
        this.onCall();
        if (name === 'GenerateServiceLastAccessedDetailsCommand') {
          const arn = String(args.input.Arn);
          if (!/^arn:aws:iam::\d{12}:(user|group)\//.test(arn)) throw iamError('InvalidInput', `Bad ARN ${arn}`);
          const id = `job-${String(++this.#seq).padStart(6, '0')}`;
          this.jobs.set(id, { arn, polls: 0, created: new Date() });
          return { output: { JobId: id, $metadata: {} } };
        }
        const job = this.jobs.get(String(args.input.JobId));
        if (!job) throw iamError('NoSuchEntity', `No job ${String(args.input.JobId)}`);
        if (job.polls++ < this.pollsInProgress)
          return {
            output: { JobStatus: 'IN_PROGRESS', JobCreationDate: job.created, ServicesLastAccessed: [], $metadata: {} },
          };
        const all = this.#services(job.arn);
        const from = Number(args.input.Marker ?? 0);
        const max = Number(args.input.MaxItems ?? 100);
        const page = all.slice(from, from + max);
        const more = from + max < all.length;
        return {
          output: {
            JobStatus: 'COMPLETED',
            JobType: 'SERVICE_LEVEL',
            JobCreationDate: job.created,
            JobCompletionDate: job.created,
            ServicesLastAccessed: page,
            IsTruncated: more,
            ...(more ? { Marker: String(from + max) } : {}),
            $metadata: {},
          },
        };
      },
      { step: 'initialize', name: 'serviceLastAccessedStandIn' },
    );
  };
}
