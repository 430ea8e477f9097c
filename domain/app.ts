/** A merchant app's lifecycle: registered (PENDING), approved by an administrator, or disabled. Pure. */
export const APP_STATUSES = ['PENDING', 'APPROVED', 'DISABLED'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];
