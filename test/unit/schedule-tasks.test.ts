import { describe, expect, it } from 'vitest';
import { scheduledTasks, tasksFor } from '../../src/jobs/schedule.js';

describe('which scheduled tasks an EventBridge event runs', () => {
  it('the frequent schedule (no input) runs the frequent tasks, not the daily key scan', () => {
    const names = tasksFor({}).map((t) => t.name);

    expect(names).toEqual(scheduledTasks.map((t) => t.name));
    expect(names).not.toContain('key-scan');
    expect(tasksFor(undefined)).toBe(scheduledTasks);
  });

  it('the daily schedule runs only the task its input names', () => {
    expect(tasksFor({ tasks: ['key-scan'] }).map((t) => t.name)).toEqual(['key-scan']);
  });

  it('a name that is no task fails instead of running nothing', () => {
    expect(() => tasksFor({ tasks: ['key-scna'] })).toThrow('No scheduled task is named key-scna');
  });
});
