export { paymentWorkflow } from './payment';
export { channelBindingWorkflow } from './channel-binding';
export { renotifyWorkflow } from './renotify';
export { refundWorkflow } from './refund';
