package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** {@code data} of 退款查询 {@code GET /refunds/{outRefundNo}}. */
public class SdkRefundQueryResponse extends SdkRefundResponse {
    /** {@code yyyy-MM-dd HH:mm:ss} Asia/Shanghai; null until refunded. */
    private String refundTime;
    private String channelType;
    private String resultErrorCode;
    private String resultErrorMsg;

    public String getRefundTime() {
        return refundTime;
    }

    public String getChannelType() {
        return channelType;
    }

    public String getResultErrorCode() {
        return resultErrorCode;
    }

    public String getResultErrorMsg() {
        return resultErrorMsg;
    }
}
