/** Which scheduled tasks a schedule event runs: the 15-minute event has no input; the daily one names its tasks. */
import { describe, expect, it } from 'vitest';
import { dailyTasks, scheduledTasks, tasksFor } from '../../src/jobs/schedule.js';

describe('which scheduled tasks an EventBridge event runs', () => {
  it('the frequent schedule (no input) runs the frequent tasks, no daily one', () => {
    const names = tasksFor({}).map((t) => t.name);

    expect(names).toEqual(scheduledTasks.map((t) => t.name));
    expect(names).not.toContain('key-scan');
    expect(names).not.toContain('reconcile-owners');
    expect(tasksFor(undefined)).toBe(scheduledTasks);
  });

  it('the daily schedule runs exactly the tasks its input names, owners reconciled before the key scan', () => {
    expect(tasksFor({ tasks: ['key-scan'] }).map((t) => t.name)).toEqual(['key-scan']);
    expect(tasksFor({ tasks: ['reconcile-owners'] }).map((t) => t.name)).toEqual(['reconcile-owners']);
    expect(dailyTasks.map((t) => t.name)).toEqual(['reconcile-owners', 'key-scan']);
  });

  it('a name that is no task fails instead of running nothing', () => {
    expect(() => tasksFor({ tasks: ['key-scna'] })).toThrow('No scheduled task is named key-scna');
  });
});
