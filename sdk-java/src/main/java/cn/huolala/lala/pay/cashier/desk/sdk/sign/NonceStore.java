package cn.huolala.lala.pay.cashier.desk.sdk.sign;

/**
 * Remembers nonces so that each is accepted once per app. {@link #claim} must be atomic: true when the nonce was
 * not seen (and is now remembered until {@code expiresAtMillis}), false for a replay. With several merchant
 * instances behind a load balancer use a shared store (Redis {@code SET NX PX}, a database unique key).
 */
public interface NonceStore {
    boolean claim(String appId, String nonce, long expiresAtMillis);
}
