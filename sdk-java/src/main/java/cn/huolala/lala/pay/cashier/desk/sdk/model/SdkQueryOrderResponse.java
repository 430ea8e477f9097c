package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** {@code data} of 查询支付结果 {@code GET /out-trade-no/query-pay-result/{outTradeNo}}. */
public class SdkQueryOrderResponse {
    private Long channelId;
    private String channelType;
    private String mchId;
    /** {@code yyyy-MM-dd HH:mm:ss} Asia/Shanghai; null until paid. */
    private String payTime;
    private String resultCode;
    private String resultErrorCode;
    private String resultErrorMsg;
    /** Fen refunded successfully so far. */
    private long refundedAmount;

    public Long getChannelId() {
        return channelId;
    }

    public String getChannelType() {
        return channelType;
    }

    public String getMchId() {
        return mchId;
    }

    public String getPayTime() {
        return payTime;
    }

    /** {@link ResultCode#SUCCESS}, {@link ResultCode#FINISH}, {@link ResultCode#FAIL} or {@link ResultCode#NULL}. */
    public String getResultCode() {
        return resultCode;
    }

    public String getResultErrorCode() {
        return resultErrorCode;
    }

    public String getResultErrorMsg() {
        return resultErrorMsg;
    }

    public long getRefundedAmount() {
        return refundedAmount;
    }

    /** True for SUCCESS and FINISH. */
    public boolean isPaid() {
        return ResultCode.SUCCESS.equals(resultCode) || ResultCode.FINISH.equals(resultCode);
    }
}
