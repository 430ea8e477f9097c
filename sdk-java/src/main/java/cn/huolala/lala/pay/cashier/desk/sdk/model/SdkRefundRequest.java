package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** 退款 request, the body of {@code POST /refunds}: refund (part of) a paid order. */
public class SdkRefundRequest {
    private String outTradeNo;
    /** Unique per app, 1–64 of [A-Za-z0-9_-|*.]: the same request again returns the same refund. */
    private String outRefundNo;
    /** Fen, ≥ 1, at most what is still refundable. */
    private Long amount;
    /** ≤ 128 characters. */
    private String reason;
    /** Where REFUND_RESULT notifications go; default the order's notify URL. */
    private String notifyUrl;

    public SdkRefundRequest() {
    }

    public SdkRefundRequest(String outTradeNo, String outRefundNo, long amount, String reason) {
        this.outTradeNo = outTradeNo;
        this.outRefundNo = outRefundNo;
        this.amount = amount;
        this.reason = reason;
    }

    public String getOutTradeNo() {
        return outTradeNo;
    }

    public void setOutTradeNo(String outTradeNo) {
        this.outTradeNo = outTradeNo;
    }

    public String getOutRefundNo() {
        return outRefundNo;
    }

    public void setOutRefundNo(String outRefundNo) {
        this.outRefundNo = outRefundNo;
    }

    public Long getAmount() {
        return amount;
    }

    public void setAmount(Long amount) {
        this.amount = amount;
    }

    public String getReason() {
        return reason;
    }

    public void setReason(String reason) {
        this.reason = reason;
    }

    public String getNotifyUrl() {
        return notifyUrl;
    }

    public void setNotifyUrl(String notifyUrl) {
        this.notifyUrl = notifyUrl;
    }
}
