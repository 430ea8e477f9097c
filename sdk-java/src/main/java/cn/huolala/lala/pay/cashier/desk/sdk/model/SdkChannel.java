package cn.huolala.lala.pay.cashier.desk.sdk.model;

/** A payment channel bound to the app and offered for an order. */
public class SdkChannel {
    private long id;
    private String appId;
    private String appName;
    private long channelId;
    /** {@code ali-pay} or {@code wx-pay}. */
    private String channelType;
    private String channelName;
    private String sceneName;
    /** {@code h5}, {@code native}, {@code app} or {@code jsapi}. */
    private String sceneCode;
    private long configId;
    private String mchId;
    private String url;
    private String method;
    private String enctype;
    private int sort;

    public long getId() {
        return id;
    }

    public String getAppId() {
        return appId;
    }

    public String getAppName() {
        return appName;
    }

    public long getChannelId() {
        return channelId;
    }

    public String getChannelType() {
        return channelType;
    }

    public String getChannelName() {
        return channelName;
    }

    public String getSceneName() {
        return sceneName;
    }

    public String getSceneCode() {
        return sceneCode;
    }

    public long getConfigId() {
        return configId;
    }

    public String getMchId() {
        return mchId;
    }

    public String getUrl() {
        return url;
    }

    public String getMethod() {
        return method;
    }

    public String getEnctype() {
        return enctype;
    }

    public int getSort() {
        return sort;
    }
}
