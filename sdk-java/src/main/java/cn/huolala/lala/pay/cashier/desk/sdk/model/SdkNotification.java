package cn.huolala.lala.pay.cashier.desk.sdk.model;

/**
 * A verified notification from the cashier desk; the subclass says which: {@link SdkPaymentNotification},
 * {@link SdkRefundNotification} or {@link SdkTransferNotification}. Retries carry the same {@link #getEventId()}
 * and a higher {@link #getAttempt()}: deduplicate on the event id.
 */
public abstract class SdkNotification {
    public static final String PAYMENT_RESULT = "PAYMENT_RESULT";
    public static final String REFUND_RESULT = "REFUND_RESULT";
    public static final String TRANSFER_RESULT = "TRANSFER_RESULT";

    private String eventId;
    private String eventType;
    private String appId;
    private String resultCode;
    private String resultErrorCode;
    private String resultErrorMsg;
    private int attempt;
    private transient String rawBody;

    /** Stable per event ({@code PAYMENT_RESULT-160}, {@code REFUND_RESULT-7}, …). */
    public String getEventId() {
        return eventId;
    }

    /** {@link #PAYMENT_RESULT}, {@link #REFUND_RESULT} or {@link #TRANSFER_RESULT}. */
    public String getEventType() {
        return eventType;
    }

    public String getAppId() {
        return appId;
    }

    public String getResultCode() {
        return resultCode;
    }

    public String getResultErrorCode() {
        return resultErrorCode;
    }

    public String getResultErrorMsg() {
        return resultErrorMsg;
    }

    /** 1-based delivery attempt. */
    public int getAttempt() {
        return attempt;
    }

    /** The verified body as received (UTF-8), for storing. */
    public String getRawBody() {
        return rawBody;
    }

    /** Set by the verifier. */
    public void setRawBody(String rawBody) {
        this.rawBody = rawBody;
    }

    /** Set by the verifier when the body predates {@code eventType} (payment results only). */
    public void setEventType(String eventType) {
        this.eventType = eventType;
    }
}
