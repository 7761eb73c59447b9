/**
 * How a temporary membership is typed and checked: the `--for 4h` flag of the change commands, the form's "For how
 * long" input, the duration checks, the refusal of a permanent add of a group the policy grants only for a time, and
 * the grant its request stores. add-to-group with a duration becomes this kind. Pure but for `notHeld` (store reads);
 * the Slack function loads it.
 */
import { durationMs } from '../../config.js';
import { requireFullMember } from '../../services/slack-members.js';
import type { AccessRequest } from '../../store/requests.js';
import type { ChangeDraft, DraftPatch } from '../change-draft.js';
import { CHANGE_RULES, type ChangeKind } from '../change-rules.js';
import { durationText } from '../summaries.js';
import type { KindDraftExtension } from '../types.js';
import { addsForGood, temporaryGroupsOf } from './active.js';
import { breakGlassProblem, checkBreakGlass } from './break-glass-rules.js';

const KIND: ChangeKind = 'temporary-membership';

/** The kinds a duration turns into this one: the adds of groups (add-to-group), and this kind itself. */
const timedOf = (kind: ChangeKind): ChangeKind | undefined => (kind === KIND || addsForGood(kind) ? KIND : undefined);

/** The duration a draft asks for (ms), if any. */
export const draftDurationMs = (draft: Pick<ChangeDraft, 'fields'>): number | undefined => {
  const ms = draft.fields?.durationMs;
  return typeof ms === 'number' ? ms : undefined;
};

/** Whether a draft asks for break-glass (`--break-glass`: at once, by the user's owner, src/kinds/temporary-membership/break-glass.ts). */
export const draftBreakGlass = (draft: Pick<ChangeDraft, 'fields'>): boolean => draft.fields?.breakGlass === true;

/** The problem key of the duration, and the form input's name. */
const DURATION = 'duration';
/** The form input's block id. */
export const DURATION_BLOCK = 'membership_duration';

const code = (s: string) => `\`${s}\``;

export const temporaryMembershipDraft: KindDraftExtension = {
  flags: [
    {
      name: '--for',
      read: (value, draft): DraftPatch | { problem: string } => {
        const ms = durationMs(value);
        const timed = timedOf(draft.kind);
        if (!timed) return { problem: '`--for` is for `add-to-group` only: a membership for a time.' };
        if (ms === undefined)
          return { problem: '`--for` takes a duration like `90m`, `4h` or `2d` (at most 30 days).' };
        return { kind: timed, fields: { durationMs: ms } };
      },
    },
    {
      // break-glass: a flag without a value, with --for and --reason
      name: '--break-glass',
      bare: true,
      read: (_value, draft): DraftPatch | { problem: string } =>
        timedOf(draft.kind) || addsForGood(draft.kind)
          ? { fields: { breakGlass: true } }
          : { problem: '`--break-glass` is for `add-to-group` only: a membership for a time.' },
      complete: (draft) => {
        if (!draftBreakGlass(draft)) return undefined;
        if (!draftDurationMs(draft))
          return '`--break-glass` needs `--for <time>`: break-glass is a membership for a time.';
        if (!draft.justification?.trim())
          return '`--break-glass` needs `--reason "..."`: say why, the approvers review it.';
        return undefined;
      },
    },
  ],
  formFields: [
    {
      name: DURATION,
      blockId: DURATION_BLOCK,
      forms: ['add-to-group'],
      input: (prefill) => {
        const ms = draftDurationMs(prefill);
        return {
          label: 'For how long',
          element: {
            type: 'plain_text_input',
            max_length: 8,
            placeholder: { type: 'plain_text', text: 'e.g. 4h (empty: for good)' },
            ...(ms ? { initial_value: durationText(ms) } : {}),
          },
          hint: 'A temporary membership (90m, 4h, 2d): the bot removes it at the end. Empty: for good.',
          optional: true,
        };
      },
      // a duration that is none (`-1`) is refused by the checks, on this field
      read: (value, draft) => {
        const timed = timedOf(draft.kind);
        return value && timed ? { kind: timed, fields: { durationMs: durationMs(value) ?? -1 } } : {};
      },
    },
  ],
  checks: [
    {
      kinds: [KIND],
      local: (_policy, draft, chosen): Record<string, string> => {
        const ms = draftDurationMs(draft) ?? 0;
        const tooLong = chosen.filter((g) => ms > (durationMs(g.maxDuration) ?? 0));
        if (ms <= 0) return { [DURATION]: 'Say for how long: `90m`, `4h` or `2d` (at most 30 days).' };
        if (tooLong.length)
          return {
            [DURATION]: `${tooLong.map((g) => `${code(g.name)} is granted for at most ${g.maxDuration}`).join('; ')}: ask for less.`,
          };
        const glass = draftBreakGlass(draft)
          ? breakGlassProblem(
              _policy,
              chosen.map((g) => g.name),
              ms,
            )
          : undefined;
        return glass ? { [DURATION]: glass } : {};
      },
    },
    {
      // a group the policy grants only for a time is not added for good; one held for a time may be asked for good
      // (the grant's end then keeps it)
      kinds: (Object.keys(CHANGE_RULES) as ChangeKind[]).filter(addsForGood),
      local: (_policy, draft, chosen): Record<string, string> => {
        const only = chosen.filter((g) => g.temporaryOnly);
        if (!only.length) return {};
        return {
          groups: `${only.map((g) => code(g.name)).join(', ')} ${only.length > 1 ? 'are' : 'is'} granted only for a time: ask \`/iam add-to-group ${draft.userName || '<user>'} ${only.map((g) => g.name).join(' ')} --for ${only[0]?.maxDuration ?? '4h'} --reason "..."\` instead.`,
        };
      },
      notHeld: (deps, account, userName) => temporaryGroupsOf(deps, account, userName),
    },
  ],
  submitted: (change) => {
    const ms = draftDurationMs(change);
    if (!ms) return {};
    const glass = draftBreakGlass(change);
    const item: Partial<AccessRequest> = {
      grant: { durationMs: ms, extensions: 0, ...(glass ? { breakGlass: {} } : {}) },
    };
    return { item, audit: { durationMs: ms, ...(glass ? { breakGlass: true } : {}) } };
  },
  // break-glass: at once, without approval, by the user's owner who is a full member, within the groups' limits
  atOnce: async (deps, change, requester) => {
    if (!draftBreakGlass(change)) return undefined;
    checkBreakGlass(deps.config.policy, { ...change, durationMs: draftDurationMs(change) ?? 0 }, requester);
    await requireFullMember(deps, requester, 'break glass');
    return 'break-glass';
  },
};
