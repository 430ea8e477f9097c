package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** PAYMENT_RESULT: an order's result ({@code resultCode} SUCCESS, FINISH or FAIL). */
public class SdkPaymentNotification extends SdkNotification {
    private String orderId;
    private String outTradeNo;
    /** Fen. */
    private long amount;
    private Long channelId;
    private String channelType;
    private String mchId;
    private String payTime;

    public String getOrderId() {
        return orderId;
    }

    public String getOutTradeNo() {
        return outTradeNo;
    }

    public long getAmount() {
        return amount;
    }

    public Long getChannelId() {
        return channelId;
    }

    public String getChannelType() {
        return channelType;
    }

    public String getMchId() {
        return mchId;
    }

    /** {@code yyyy-MM-dd HH:mm:ss} Asia/Shanghai. */
    public String getPayTime() {
        return payTime;
    }
}
