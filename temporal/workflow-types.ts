/**
 * The payment workflow's type names, in one place. New orders start the current type; orders started before it
 * keep running (and replaying) as the type they started as, so listings and counts of orders match both.
 */
export const PAYMENT_WORKFLOW_TYPE = 'paymentWorkflowV2';
export const PAYMENT_WORKFLOW_TYPES = [PAYMENT_WORKFLOW_TYPE, 'paymentWorkflow'] as const;

/** A visibility query clause matching every order's workflow, whichever type it runs. */
export const PAYMENT_WORKFLOWS_QUERY = `WorkflowType IN (${PAYMENT_WORKFLOW_TYPES.map((t) => `"${t}"`).join(', ')})`;
