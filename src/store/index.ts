import { AuditStore } from './audit.js';
import { connectDynamo, type StoreOptions } from './dynamo.js';
import { JobStore } from './jobs.js';
import { LinkStore } from './links.js';

export type { StoreOptions } from './dynamo.js';

/** Every table the bot keeps its state in, as typed repositories over dynamoose models. */
export interface Store {
  jobs: JobStore;
  audit: AuditStore;
  links: LinkStore;
}

/** Connects dynamoose and builds the repositories. Tables are created lazily only when `options.create`. */
export function createStore(options: StoreOptions): Store {
  connectDynamo(options);
  return {
    jobs: new JobStore(options),
    audit: new AuditStore(options),
    links: new LinkStore(options),
  };
}
