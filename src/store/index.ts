import { AuditStore } from './audit.js';
import { connectDynamo, type StoreOptions } from './dynamo.js';
import { JobStore } from './jobs.js';
import { LinkStore } from './links.js';
import { ReminderStore } from './reminders.js';
import { RequestStore, type StoreKinds } from './requests.js';
import { UserStore } from './users.js';

export type { StoreOptions } from './dynamo.js';
export type { StoreKinds } from './requests.js';

/** Every table the bot keeps its state in, as typed repositories over dynamoose models. */
export interface Store {
  jobs: JobStore;
  audit: AuditStore;
  requests: RequestStore;
  links: LinkStore;
  users: UserStore;
  reminders: ReminderStore;
}

/**
 * Connects dynamoose and builds the repositories. Tables are created lazily only when `options.create`. `kinds`
 * says what the store must know of request kinds (src/kinds/registry.ts).
 */
export function createStore(options: StoreOptions, kinds: StoreKinds): Store {
  connectDynamo(options);
  return {
    jobs: new JobStore(options),
    audit: new AuditStore(options),
    requests: new RequestStore(options, kinds),
    links: new LinkStore(options),
    users: new UserStore(options),
    reminders: new ReminderStore(options),
  };
}
