package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** {@code data} of 退款 {@code POST /refunds}. */
public class SdkRefundResponse {
    private long refundId;
    private String outRefundNo;
    private String outTradeNo;
    private long amount;
    /** {@code PROCESSING}, {@code SUCCESS} or {@code FAIL}. */
    private String status;

    public long getRefundId() {
        return refundId;
    }

    public String getOutRefundNo() {
        return outRefundNo;
    }

    public String getOutTradeNo() {
        return outTradeNo;
    }

    public long getAmount() {
        return amount;
    }

    public String getStatus() {
        return status;
    }
}
