package cn.huolala.lala.pay.cashier.desk.sdk.exception;

/**
 * A message from the cashier desk (a response, a notification, an order's signature block) failed the
 * Signature v1 checks. {@link #getCode()} is 4010, what a notify endpoint answers for it; {@link #getReason()}
 * says which check failed.
 */
public class SignatureVerificationException extends CashierDeskException {
    private static final long serialVersionUID = 1L;

    public static final int CODE = 4010;

    /** Which check failed. */
    public enum Reason {
        /** One of the five X-Cashier-* headers is absent, empty or repeated. */
        MISSING_HEADER,
        /** X-Cashier-Sign-Type is neither HMAC-SHA256 nor HMAC-SM3. */
        BAD_SIGN_TYPE,
        /** The nonce is not 16–64 of [A-Za-z0-9]. */
        BAD_NONCE,
        /** The timestamp is not epoch milliseconds in decimal digits. */
        BAD_TIMESTAMP,
        /** |now − timestamp| is more than 300 s. */
        STALE_TIMESTAMP,
        /** No key gives this signature over this message. */
        BAD_SIGNATURE,
        /** Signed for another app. */
        APP_MISMATCH,
        /** The nonce was seen before within 10 minutes. */
        REPLAYED_NONCE,
        /** The unified order's signature block does not verify. */
        BAD_ORDER_SIGNATURE
    }

    private final Reason reason;

    public SignatureVerificationException(Reason reason) {
        this(reason, 0);
    }

    public SignatureVerificationException(Reason reason, int httpStatus) {
        super(CODE, "签名验证失败: " + reason.name(), httpStatus);
        this.reason = reason;
    }

    public Reason getReason() {
        return reason;
    }
}
