package railsdra

// DriverName is the rails driver's name: the ResourceSlices' spec.driver,
// the DeviceClass's selector and the kubelet plugin's registration name.
const DriverName = "rails.railnet.io"

// DeviceClassName is the chart's default rails DeviceClass (dra.deviceClassName).
const DeviceClassName = "rails.railnet.io"

// GPUDeviceClassName is the GPU DeviceClass the webhook's claim templates
// ask for by default: NVIDIA's DRA driver's class.
const GPUDeviceClassName = "gpu.nvidia.com"

// Attribute and capacity names, in the driver's domain (DriverName).
const (
	AttrRail       = "rail"
	AttrNetdev     = "netdev"
	AttrRDMADevice = "rdmaDevice"
	AttrPort       = "port"
	AttrNUMANode   = "numaNode"
	AttrLinkState  = "linkState"
	AttrPortState  = "portState"
	AttrLinkLayer  = "linkLayer"
	AttrPCIAddress = "pciAddress"
	AttrSpeedMbps  = "speedMbps"
	// CapacityShares is the consumable capacity each allocation takes one
	// of by default: how many pods share the NIC.
	CapacityShares = "shares"
)

// PCIeRootAttribute is the standard attribute pairing GPUs with NICs.
const PCIeRootAttribute = "resource.kubernetes.io/pcieRoot"
