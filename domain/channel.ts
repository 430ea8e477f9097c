/**
 * What a payment channel is, independent of any wallet. The wallets themselves (and so the channel types
 * that exist) are registered in providers/; a scene is a way of paying that every wallet may offer.
 */

/** A wallet's channel type, e.g. "ali-pay" or "wx-pay": the provider registry knows which exist. */
export type ChannelType = string;

export type SceneCode = 'h5' | 'native' | 'app' | 'jsapi';

/** Display names of the scenes (the `sceneName` of a channel). */
export const SCENE_NAMES: Record<SceneCode, string> = { h5: 'H5支付', native: '扫码支付', app: 'APP支付', jsapi: '公众号/小程序支付' };

export const SCENE_CODES = Object.keys(SCENE_NAMES) as SceneCode[];

/** An app's application to use a channel (app_channels.status). */
export const BINDING_STATUSES = ['PENDING', 'APPROVED', 'REJECTED'] as const;
export type BindingStatus = (typeof BINDING_STATUSES)[number];
