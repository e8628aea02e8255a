// Command webhook (railnet-webhook) is railnet's admission service: pod RDMA network
// injection, SpiderIPPool/SpiderMultusConfig defaulting and validation, and
// the SpiderMultusConfig → NetworkAttachmentDefinition controller.
package main
