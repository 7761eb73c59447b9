/** Which scheduled tasks a schedule event runs: the 15-minute event has no input; the daily one names its tasks. */
import { describe, expect, it } from 'vitest';
import { dailyTasks, scheduledTasks, tasksFor } from '../../src/jobs/schedule.js';

describe('tasksFor', () => {
  it('runs the 15-minute tasks, and no daily one, for an event without input (EventBridge sends {})', () => {
    expect(tasksFor({})).toBe(scheduledTasks);
    expect(tasksFor(undefined)).toBe(scheduledTasks);
    expect(scheduledTasks.map((t) => t.name)).not.toContain('reconcile-owners');
  });

  it('runs exactly the tasks the daily event names', () => {
    expect(tasksFor({ tasks: ['reconcile-owners'] }).map((t) => t.name)).toEqual(['reconcile-owners']);
    expect(dailyTasks.map((t) => t.name)).toEqual(['reconcile-owners']);
  });

  it('runs nothing for names it does not know', () => {
    expect(tasksFor({ tasks: ['no-such-task'] })).toEqual([]);
  });
});
