package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** REFUND_RESULT: a refund's result ({@code resultCode} SUCCESS or FAIL). */
public class SdkRefundNotification extends SdkNotification {
    private long refundId;
    private String outRefundNo;
    private String outTradeNo;
    private String orderId;
    /** Fen. */
    private long amount;
    private String refundTime;

    public long getRefundId() {
        return refundId;
    }

    public String getOutRefundNo() {
        return outRefundNo;
    }

    public String getOutTradeNo() {
        return outTradeNo;
    }

    public String getOrderId() {
        return orderId;
    }

    public long getAmount() {
        return amount;
    }

    public String getRefundTime() {
        return refundTime;
    }
}
