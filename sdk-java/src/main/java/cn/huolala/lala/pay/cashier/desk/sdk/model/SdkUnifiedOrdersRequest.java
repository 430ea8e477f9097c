package cn.huolala.lala.pay.cashier.desk.sdk.model;

/**
 * 下单 request, the body of {@code POST /unified/orders}. {@code (appId, outTradeNo)} identifies the order: the
 * same request again returns the same order and token; other content under the same outTradeNo is 4090.
 */
public class SdkUnifiedOrdersRequest {
    /** Integer fen (分), 1 … 10,000,000,000. */
    private Long amount;
    /** ≤ 256 characters. */
    private String goodsDesc;
    /** ≤ 128 characters. */
    private String orderTitle;
    /** 1–64 of [A-Za-z0-9_-|*.]. */
    private String outTradeNo;
    /** The merchant's identifier of the paying user, ≤ 64 characters. */
    private String thirdPartyUser;
    /** Absolute http(s) URL for payment results; default the app's registered one (or the SDK's notifyUrl). */
    private String notifyUrl;
    /** Where the consumer goes after paying; default the app's registered one (none: no redirect). */
    private String returnUrl;
    /** Order lifetime, 60 … 86400 s; default the server's ORDER_DEFAULT_EXPIRE_SECONDS. */
    private Integer expireSeconds;

    public SdkUnifiedOrdersRequest() {
    }

    public SdkUnifiedOrdersRequest(long amount, String goodsDesc, String orderTitle, String outTradeNo, String thirdPartyUser) {
        this.amount = amount;
        this.goodsDesc = goodsDesc;
        this.orderTitle = orderTitle;
        this.outTradeNo = outTradeNo;
        this.thirdPartyUser = thirdPartyUser;
    }

    public Long getAmount() {
        return amount;
    }

    public void setAmount(Long amount) {
        this.amount = amount;
    }

    public String getGoodsDesc() {
        return goodsDesc;
    }

    public void setGoodsDesc(String goodsDesc) {
        this.goodsDesc = goodsDesc;
    }

    public String getOrderTitle() {
        return orderTitle;
    }

    public void setOrderTitle(String orderTitle) {
        this.orderTitle = orderTitle;
    }

    public String getOutTradeNo() {
        return outTradeNo;
    }

    public void setOutTradeNo(String outTradeNo) {
        this.outTradeNo = outTradeNo;
    }

    public String getThirdPartyUser() {
        return thirdPartyUser;
    }

    public void setThirdPartyUser(String thirdPartyUser) {
        this.thirdPartyUser = thirdPartyUser;
    }

    public String getNotifyUrl() {
        return notifyUrl;
    }

    public void setNotifyUrl(String notifyUrl) {
        this.notifyUrl = notifyUrl;
    }

    public String getReturnUrl() {
        return returnUrl;
    }

    public void setReturnUrl(String returnUrl) {
        this.returnUrl = returnUrl;
    }

    public Integer getExpireSeconds() {
        return expireSeconds;
    }

    public void setExpireSeconds(Integer expireSeconds) {
        this.expireSeconds = expireSeconds;
    }
}
