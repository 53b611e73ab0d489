// D1 answers at most 1,000 queries per Worker invocation (Workers Paid; 50 on Free): past it, every
// further statement of the invocation fails. Work whose size grows with the data and runs in one
// invocation (the cron's sweep of every database, a test clock's advance) counts the statements it
// runs through a StatementBudget and starts a unit of work (a billing step, a checkout session's
// expiry, a round of deletes) only when the budget still holds the most that unit can cost. What it
// leaves is due work for the next sweep, never a half-done step.

/** Statements a sweep or an advance may run in one invocation: D1's 1,000 less room for the request's own reads. */
export const INVOCATION_STATEMENTS = 900;

/** Statements one unit of work may run at most (measured with margin in test/db/statement-budget.test.ts). */
export const UNIT_COST = {
  /** A billing step: its due reads, the renewal (or retry) and the invoice's payment (about 18); a trial's notice far less (3). */
  billingStep: 30,
  /** One checkout session expired: the cancel's writes and event, or its completion (3). */
  sessionExpiry: 5,
  /** A round of a cursor sweep: the cursor read, the due rows, the cursor write. */
  round: 3,
  /** One retention batch: up to 3 deletes (events with their deliveries and attempts). */
  retention: 3,
} as const;

/**
 * A count of the statements run, against a limit. `share(cap)` gives a part of the work its own limit
 * inside this one: what the part runs counts in both.
 */
export class StatementBudget {
  private used = 0;

  constructor(
    readonly limit: number,
    private readonly parent: StatementBudget | null = null,
  ) {}

  /** Statements run so far. */
  get spent(): number {
    return this.used;
  }

  /** Statements still allowed (never more than the parent's). */
  get left(): number {
    const own = this.limit - this.used;
    return this.parent ? Math.min(own, this.parent.left) : own;
  }

  /** Whether a unit that runs at most `cost` statements may start. */
  allows(cost: number): boolean {
    return this.left >= cost;
  }

  /** Counts `n` statements (here and in every parent). */
  spend(n: number): void {
    this.used += n;
    this.parent?.spend(n);
  }

  /** A part of this budget that may spend at most `cap` of it. */
  share(cap: number): StatementBudget {
    return new StatementBudget(Math.max(0, Math.floor(cap)), this);
  }

  /**
   * `d1` counting each statement prepared through it: every statement is prepared for one run, alone
   * or in a batch, and a batch's statements count one each (whether D1 counts a batch as one query or
   * as its statements, this never undercounts).
   */
  counted(d1: D1Database): D1Database {
    return new Proxy(d1, {
      get: (target, prop) => {
        if (prop === "prepare") {
          return (query: string) => {
            this.spend(1);
            return target.prepare(query);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}
