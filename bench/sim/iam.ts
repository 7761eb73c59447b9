/**
 * IAM and STS of a company's accounts, simulated in this process for `npm run bench -- org`. The bot's own SDK v3
 * clients are used unchanged: the simulator is their `requestHandler`, so each call is a real request serialized by
 * the SDK (the Query protocol: `Action=ListUsers&...`) and a real XML answer parsed by it, errors and throttling
 * included (the SDK retries `Throttling` itself, with its backoff, which passes on the virtual clock).
 *
 * Numbers, and where they come from:
 * - IAM's request rate: AWS does not publish it. "IAM and AWS STS quotas" (docs.aws.amazon.com/IAM/latest/UserGuide/
 *   reference_iam-quotas.html) lists object quotas only, and the re:Post article "How do I resolve API throttling or
 *   'Rate exceeded' errors for IAM and AWS STS?" (repost.aws/knowledge-center/iam-sts-throttling-error) says every
 *   caller of an account shares one rate that cannot be raised. Assumed here: a token bucket of 20 requests a second
 *   per account with a burst of 40 (IAM_RATE_PER_S, IAM_BURST), shared by every IAM action.
 * - STS AssumeRole: assumed 100 a second per account (generous; the bot assumes each account's role once an hour).
 * - Latency (not documented by AWS; typical of us-east-1 from Lambda): IAM reads 60 ms, writes 120 ms,
 *   GetAccountAuthorizationDetails 400 ms a page, GetCredentialReport 250 ms, STS 80 ms (IAM_LATENCY_MS).
 * - The credential report: IAM makes one at most every four hours and answers the one it has until then
 *   (docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html); making one is assumed to take 10 s.
 *   It is a snapshot: keys changed after it are not in it.
 */
import type { HttpRequest } from '@smithy/types';
import type { VirtualTime } from './virtual-time.js';

export const IAM_RATE_PER_S = 20;
export const IAM_BURST = 40;
export const STS_RATE_PER_S = 100;
export const IAM_LATENCY_MS: Record<string, number> = {
  read: 60,
  write: 120,
  GetAccountAuthorizationDetails: 400,
  GetCredentialReport: 250,
  sts: 80,
};
export const REPORT_EVERY_MS = 4 * 3_600_000;
export const REPORT_MAKING_MS = 10_000;
/**
 * Service last accessed data (GenerateServiceLastAccessedDetails, then GetServiceLastAccessedDetails): AWS says the
 * job runs in the background and gives no duration; assumed here: a job's report is ready this long after its start
 * (GetServiceLastAccessedDetails answers IN_PROGRESS until then).
 */
export const LAST_ACCESSED_MAKING_MS = 20_000;

export interface SimKey {
  id: string;
  status: 'Active' | 'Inactive';
  created: number;
  lastUsed?: number;
  /** When it was made inactive (the bench's leaver measure). */
  disabledAt?: number;
}

export interface SimUser {
  name: string;
  path: string;
  id: string;
  created: number;
  tags: { Key: string; Value: string }[];
  groups: string[];
  keys: SimKey[];
  login: boolean;
  /** When the user last used each service (namespace → ms), for service last accessed data. */
  used?: Record<string, number>;
}

export interface SimAccount {
  name: string;
  id: string;
  users: Map<string, SimUser>;
  report?: { at: number; csv: string };
  making?: number;
  tokens: number;
  tokensAt: number;
  /** Groups: the service namespaces each one's policies grant (service last accessed data). */
  groups: Map<string, string[]>;
  /** Service last accessed jobs by id: the entity's ARN and when the job was started. */
  lastAccessedJobs: Map<string, { arn: string; at: number }>;
}

const WRITES = new Set(['UpdateAccessKey', 'DeleteLoginProfile', 'DeleteAccessKey', 'TagUser', 'UntagUser']);

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const members = (items: string[]) => items.map((i) => `<member>${i}</member>`).join('');

class IamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class SimulatedIam {
  readonly accounts = new Map<string, SimAccount>();
  /** Calls answered, and calls answered `Throttling`, by account. */
  readonly calls = new Map<string, number>();
  throttled = 0;
  #seq = 0;

  constructor(
    private readonly vt: VirtualTime,
    /** Called before each call (the bench counts it per task, and freezes the calls of a killed invocation). */
    private readonly before: (service: 'iam' | 'sts', action: string, account: string) => Promise<void>,
  ) {}

  addAccount(name: string, id: string): SimAccount {
    const a: SimAccount = {
      name,
      id,
      users: new Map(),
      tokens: IAM_BURST,
      tokensAt: this.vt.ms(),
      groups: new Map(),
      lastAccessedJobs: new Map(),
    };
    this.accounts.set(name, a);
    return a;
  }

  /** The handler to give an SDK client of `account` (`client.config.requestHandler`). */
  handlerFor(account: string, service: 'iam' | 'sts') {
    return {
      handle: async (request: HttpRequest) => {
        const body = typeof request.body === 'string' ? request.body : Buffer.from(request.body ?? '').toString();
        const params = new URLSearchParams(body);
        const action = params.get('Action') ?? '';
        await this.before(service, action, account);
        try {
          const xml =
            service === 'sts' ? await this.#sts(account, action, params) : await this.#iam(account, action, params);
          return {
            response: this.#response(
              200,
              `<${action}Response><${action}Result>${xml}</${action}Result>${this.#meta()}</${action}Response>`,
            ),
          };
        } catch (error) {
          if (!(error instanceof IamError)) throw error;
          return {
            response: this.#response(
              error.status,
              `<ErrorResponse><Error><Type>Sender</Type><Code>${error.code}</Code><Message>${esc(error.message)}</Message></Error><RequestId>r${this.#seq}</RequestId></ErrorResponse>`,
            ),
          };
        }
      },
      updateHttpClientConfig() {},
      httpHandlerConfigs: () => ({}),
      destroy() {},
    };
  }

  #response(statusCode: number, xml: string) {
    // shaped as @smithy/protocol-http's HttpResponse, which the SDK's deserializers read
    return {
      statusCode,
      headers: { 'content-type': 'text/xml' },
      body: new Uint8Array(Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>${xml}`)),
    };
  }

  #meta() {
    return `<ResponseMetadata><RequestId>r${++this.#seq}</RequestId></ResponseMetadata>`;
  }

  #account(name: string): SimAccount {
    const a = this.accounts.get(name);
    if (!a) throw new Error(`no simulated account ${name}`);
    return a;
  }

  /** One token of the account's bucket, else `Throttling` (the SDK backs off and tries again, 4 attempts in all). */
  #take(a: SimAccount, rate: number, burst: number) {
    const now = this.vt.ms();
    a.tokens = Math.min(burst, a.tokens + ((now - a.tokensAt) / 1000) * rate);
    a.tokensAt = now;
    if (a.tokens < 1) {
      this.throttled++;
      throw new IamError('Throttling', 'Rate exceeded');
    }
    a.tokens -= 1;
  }

  async #sts(account: string, action: string, params: URLSearchParams): Promise<string> {
    await this.vt.sleep(IAM_LATENCY_MS.sts as number);
    if (action === 'GetCallerIdentity') {
      const a = this.#account(account);
      return `<Arn>arn:aws:sts::${a.id}:assumed-role/iam-slack-bot/x</Arn><UserId>AROA:x</UserId><Account>${a.id}</Account>`;
    }
    if (action === 'AssumeRole') {
      const arn = params.get('RoleArn') ?? '';
      const exp = iso(this.vt.ms() + Number(params.get('DurationSeconds') ?? 3600) * 1000);
      return `<Credentials><AccessKeyId>ASIASIM${arn.split(':')[4]}</AccessKeyId><SecretAccessKey>simulated</SecretAccessKey><SessionToken>simulated</SessionToken><Expiration>${exp}</Expiration></Credentials><AssumedRoleUser><Arn>${esc(arn)}/iam-slack-bot</Arn><AssumedRoleId>AROA:iam-slack-bot</AssumedRoleId></AssumedRoleUser>`;
    }
    throw new Error(`the simulated STS does not answer ${action}`);
  }

  async #iam(account: string, action: string, p: URLSearchParams): Promise<string> {
    const a = this.#account(account);
    this.calls.set(account, (this.calls.get(account) ?? 0) + 1);
    const latency = IAM_LATENCY_MS[action] ?? (WRITES.has(action) ? IAM_LATENCY_MS.write : IAM_LATENCY_MS.read);
    await this.vt.sleep(latency as number);
    this.#take(a, IAM_RATE_PER_S, IAM_BURST);
    const user = () => {
      const name = p.get('UserName') ?? '';
      const u = a.users.get(name.toLowerCase());
      if (!u) throw new IamError('NoSuchEntity', `The user with name ${name} cannot be found.`, 404);
      return u;
    };
    const arn = (u: SimUser) => `arn:aws:iam::${a.id}:user${u.path}${u.name}`;
    const userXml = (u: SimUser) =>
      `<Path>${esc(u.path)}</Path><UserName>${esc(u.name)}</UserName><UserId>${u.id}</UserId><Arn>${esc(arn(u))}</Arn><CreateDate>${iso(u.created)}</CreateDate>`;
    const tagsXml = (u: SimUser) =>
      members(u.tags.map((t) => `<Key>${esc(t.Key)}</Key><Value>${esc(t.Value)}</Value>`));
    const page = <T>(items: T[], max: number) => {
      const from = Number(p.get('Marker') ?? 0);
      const to = from + Math.min(max, Number(p.get('MaxItems') ?? max));
      const more = to < items.length;
      return {
        items: items.slice(from, to),
        tail: `<IsTruncated>${more}</IsTruncated>${more ? `<Marker>${to}</Marker>` : ''}`,
      };
    };
    const sorted = () => [...a.users.values()].sort((x, y) => x.name.localeCompare(y.name));
    switch (action) {
      case 'ListUsers': {
        const prefix = p.get('PathPrefix') ?? '/';
        const { items, tail } = page(
          sorted().filter((u) => u.path.startsWith(prefix)),
          1000,
        );
        return `<Users>${members(items.map(userXml))}</Users>${tail}`;
      }
      case 'GetAccountAuthorizationDetails': {
        const { items, tail } = page(sorted(), 1000);
        const detail = (u: SimUser) =>
          `${userXml(u)}<GroupList>${members(u.groups.map(esc))}</GroupList><Tags>${tagsXml(u)}</Tags><UserPolicyList/><AttachedManagedPolicies/>`;
        return `<UserDetailList>${members(items.map(detail))}</UserDetailList><GroupDetailList/><RoleDetailList/><Policies/>${tail}`;
      }
      case 'GetUser': {
        const u = user();
        return `<User>${userXml(u)}<Tags>${tagsXml(u)}</Tags></User>`;
      }
      case 'ListUserTags':
        return `<Tags>${tagsXml(user())}</Tags><IsTruncated>false</IsTruncated>`;
      case 'ListGroupsForUser': {
        const u = user();
        const g = (name: string) =>
          `<Path>/</Path><GroupName>${esc(name)}</GroupName><GroupId>AGPA${name}</GroupId><Arn>arn:aws:iam::${a.id}:group/${esc(name)}</Arn><CreateDate>${iso(0)}</CreateDate>`;
        return `<Groups>${members(u.groups.map(g))}</Groups><IsTruncated>false</IsTruncated>`;
      }
      case 'ListAccessKeys': {
        const u = user();
        const k = (key: SimKey) =>
          `<UserName>${esc(u.name)}</UserName><AccessKeyId>${key.id}</AccessKeyId><Status>${key.status}</Status><CreateDate>${iso(key.created)}</CreateDate>`;
        return `<AccessKeyMetadata>${members(u.keys.map(k))}</AccessKeyMetadata><IsTruncated>false</IsTruncated>`;
      }
      case 'GetAccessKeyLastUsed': {
        const id = p.get('AccessKeyId');
        for (const u of a.users.values()) {
          const key = u.keys.find((k) => k.id === id);
          if (key)
            return `<UserName>${esc(u.name)}</UserName><AccessKeyLastUsed>${key.lastUsed ? `<LastUsedDate>${iso(key.lastUsed)}</LastUsedDate><ServiceName>s3</ServiceName><Region>us-east-1</Region>` : '<ServiceName>N/A</ServiceName><Region>N/A</Region>'}</AccessKeyLastUsed>`;
        }
        throw new IamError('NoSuchEntity', `The Access Key with id ${id} cannot be found`, 404);
      }
      case 'UpdateAccessKey': {
        const u = user();
        const key = u.keys.find((k) => k.id === p.get('AccessKeyId'));
        if (!key) throw new IamError('NoSuchEntity', 'The Access Key cannot be found', 404);
        const status = p.get('Status') === 'Inactive' ? 'Inactive' : 'Active';
        if (status === 'Inactive' && key.status === 'Active') key.disabledAt = this.vt.ms();
        key.status = status;
        return '';
      }
      case 'GetLoginProfile': {
        const u = user();
        if (!u.login) throw new IamError('NoSuchEntity', `Login Profile for User ${u.name} cannot be found.`, 404);
        return `<LoginProfile><UserName>${esc(u.name)}</UserName><CreateDate>${iso(u.created)}</CreateDate><PasswordResetRequired>false</PasswordResetRequired></LoginProfile>`;
      }
      case 'ListMFADevices':
        user();
        return '<MFADevices/><IsTruncated>false</IsTruncated>'; // the simulated company's users have no MFA device
      case 'DeleteLoginProfile': {
        const u = user();
        if (!u.login) throw new IamError('NoSuchEntity', `Login Profile for User ${u.name} cannot be found.`, 404);
        u.login = false;
        return '';
      }
      case 'GenerateCredentialReport': {
        const now = this.vt.ms();
        if (a.making !== undefined && now >= a.making) {
          a.report = { at: a.making, csv: this.#csv(a) };
          a.making = undefined;
        }
        if (a.report && now - a.report.at < REPORT_EVERY_MS && a.making === undefined)
          return '<State>COMPLETE</State><Description>No report generation needed</Description>';
        if (a.making === undefined) {
          a.making = now + REPORT_MAKING_MS;
          return '<State>STARTED</State><Description>Generating report</Description>';
        }
        return '<State>INPROGRESS</State><Description>Generating report</Description>';
      }
      case 'GetCredentialReport': {
        if (!a.report) throw new IamError('ReportNotPresent', 'Credential report not present', 410);
        return `<Content>${Buffer.from(a.report.csv).toString('base64')}</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>${iso(a.report.at)}</GeneratedTime>`;
      }
      case 'GetGroup': {
        const name = p.get('GroupName') ?? '';
        if (!a.groups.has(name))
          throw new IamError('NoSuchEntity', `The group with name ${name} cannot be found.`, 404);
        return `<Group><Path>/</Path><GroupName>${esc(name)}</GroupName><GroupId>AGPA${esc(name)}</GroupId><Arn>arn:aws:iam::${a.id}:group/${esc(name)}</Arn><CreateDate>${iso(0)}</CreateDate></Group><Users/><IsTruncated>false</IsTruncated>`;
      }
      case 'GenerateServiceLastAccessedDetails': {
        const jobId = `job-${++this.#seq}`;
        a.lastAccessedJobs.set(jobId, { arn: p.get('Arn') ?? '', at: this.vt.ms() });
        return `<JobId>${jobId}</JobId>`;
      }
      case 'GetServiceLastAccessedDetails': {
        const job = a.lastAccessedJobs.get(p.get('JobId') ?? '');
        if (!job) throw new IamError('NoSuchEntity', 'No such job', 404);
        const created = `<JobCreationDate>${iso(job.at)}</JobCreationDate><JobType>SERVICE_LEVEL</JobType>`;
        if (this.vt.ms() < job.at + LAST_ACCESSED_MAKING_MS)
          return `<JobStatus>IN_PROGRESS</JobStatus>${created}<ServicesLastAccessed/><IsTruncated>false</IsTruncated>`;
        const [, kind, ...rest] = (job.arn.split(':')[5] ?? '').match(/^(user|group)\/(.*)$/) ?? [];
        const name = rest.join('/').split('/').at(-1) ?? '';
        const u = kind === 'user' ? a.users.get(name.toLowerCase()) : undefined;
        const granted =
          kind === 'group'
            ? (a.groups.get(name) ?? [])
            : [...new Set((u?.groups ?? []).flatMap((g) => a.groups.get(g) ?? []))].sort();
        const { items, tail } = page(granted, 1000);
        const entry = (ns: string) => {
          const last = u?.used?.[ns];
          return `<ServiceName>Amazon ${esc(ns)}</ServiceName><ServiceNamespace>${esc(ns)}</ServiceNamespace><TotalAuthenticatedEntities>${last ? 1 : 0}</TotalAuthenticatedEntities>${last ? `<LastAuthenticated>${iso(last)}</LastAuthenticated><LastAuthenticatedEntity>${esc(job.arn)}</LastAuthenticatedEntity>` : ''}`;
        };
        return `<JobStatus>COMPLETED</JobStatus>${created}<JobCompletionDate>${iso(job.at + LAST_ACCESSED_MAKING_MS)}</JobCompletionDate><ServicesLastAccessed>${members(items.map(entry))}</ServicesLastAccessed>${tail}`;
      }
      case 'ListAccountAliases':
        return '<AccountAliases/><IsTruncated>false</IsTruncated>';
      default:
        throw new Error(`the simulated IAM does not answer ${action}`);
    }
  }

  /** The credential report as IAM writes it (its columns, in its order), a snapshot of the account now. */
  #csv(a: SimAccount): string {
    const head =
      'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated';
    const rows = [
      `<root_account>,arn:aws:iam::${a.id}:root,${iso(0)},not_supported,N/A,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A`,
    ];
    for (const u of a.users.values()) {
      const k = (key: SimKey | undefined) =>
        key
          ? `${key.status === 'Active'},${iso(key.created)},${key.lastUsed ? iso(key.lastUsed) : 'N/A'},${key.lastUsed ? 'us-east-1' : 'N/A'},${key.lastUsed ? 's3' : 'N/A'}`
          : 'false,N/A,N/A,N/A,N/A';
      rows.push(
        `${u.name},arn:aws:iam::${a.id}:user${u.path}${u.name},${iso(u.created)},${u.login},N/A,${u.login ? iso(u.created) : 'N/A'},N/A,false,${k(u.keys[0])},${k(u.keys[1])},false,N/A,false,N/A`,
      );
    }
    return `${head}\n${rows.join('\n')}\n`;
  }
}
