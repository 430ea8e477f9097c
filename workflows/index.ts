export { paymentWorkflow } from './payment';
export { channelBindingWorkflow } from './channel-binding';
