package verify

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ObjRef names a manifest object in reports: what it is, where it applies
// and where it was read, plus the intent objects it came from (its
// intentc.dev/source annotation, empty for hand-written objects).
type ObjRef struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Cluster   string   `json:"cluster,omitempty"`
	File      string   `json:"file,omitempty"`
	Line      int      `json:"line,omitempty"`
	Sources   []string `json:"sources,omitempty"`
}

func (o *ObjRef) String() string {
	if o == nil {
		return ""
	}
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Annotations and labels verify reads.
const (
	annSource = "intentc.dev/source"
	annDryRun = "istio.io/dry-run"
	nsNameKey = "kubernetes.io/metadata.name"
	// clusterLabel is the label Istio gives every endpoint: the subsets
	// intentc emits select on it.
	clusterLabel = "topology.istio.io/cluster"
)

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type header struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

func (h *header) group() string {
	g, _, ok := strings.Cut(h.APIVersion, "/")
	if !ok {
		return "" // the core group ("v1")
	}
	return g
}

// intOrStr is a Kubernetes IntOrString (a port number or a port name).
type intOrStr struct {
	set   bool
	isInt bool
	i     int32
	s     string
}

func (v *intOrStr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a name", n.Line)
	}
	v.set = true
	if n.Tag == "!!int" {
		i, err := strconv.ParseInt(n.Value, 0, 32)
		if err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		v.isInt, v.i = true, int32(i)
		return nil
	}
	v.s = n.Value
	return nil
}

func (v intOrStr) String() string {
	if v.isInt {
		return strconv.Itoa(int(v.i))
	}
	return v.s
}

// scalar accepts any scalar (a Neutron protocol may be "tcp", "6" or 6).
type scalar struct {
	set bool
	s   string
}

func (v *scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a scalar", n.Line)
	}
	if n.Tag == "!!null" {
		return nil
	}
	v.set, v.s = true, n.Value
	return nil
}

// --- Kubernetes NetworkPolicy (networking.k8s.io/v1) ---

type networkPolicySpec struct {
	PodSelector *selector       `yaml:"podSelector"`
	PolicyTypes []string        `yaml:"policyTypes"`
	Ingress     []npIngressRule `yaml:"ingress"`
	Egress      []npEgressRule  `yaml:"egress"`
}

type npIngressRule struct {
	From  []npPeer `yaml:"from"`
	Ports []npPort `yaml:"ports"`
}

type npEgressRule struct {
	To    []npPeer `yaml:"to"`
	Ports []npPort `yaml:"ports"`
}

type npPeer struct {
	PodSelector       *selector `yaml:"podSelector"`
	NamespaceSelector *selector `yaml:"namespaceSelector"`
	IPBlock           *struct {
		CIDR   string   `yaml:"cidr"`
		Except []string `yaml:"except"`
	} `yaml:"ipBlock"`
}

type npPort struct {
	Protocol string   `yaml:"protocol"`
	Port     intOrStr `yaml:"port"`
	EndPort  *int32   `yaml:"endPort"`
}

// --- Istio security (security.istio.io/v1, v1beta1) ---

type workloadSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type targetRef struct {
	Group     string `yaml:"group"`
	Kind      string `yaml:"kind"`
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace"`
}

type authorizationPolicySpec struct {
	Selector   *workloadSelector `yaml:"selector"`
	TargetRef  *targetRef        `yaml:"targetRef"`
	TargetRefs []targetRef       `yaml:"targetRefs"`
	Action     string            `yaml:"action"`
	Provider   *struct {
		Name string `yaml:"name"`
	} `yaml:"provider"`
	Rules []apRule `yaml:"rules"`
}

type apRule struct {
	From []struct {
		Source apSource `yaml:"source"`
	} `yaml:"from"`
	To []struct {
		Operation apOperation `yaml:"operation"`
	} `yaml:"to"`
	When []apCondition `yaml:"when"`
}

type apSource struct {
	Principals           []string `yaml:"principals"`
	NotPrincipals        []string `yaml:"notPrincipals"`
	RequestPrincipals    []string `yaml:"requestPrincipals"`
	NotRequestPrincipals []string `yaml:"notRequestPrincipals"`
	Namespaces           []string `yaml:"namespaces"`
	NotNamespaces        []string `yaml:"notNamespaces"`
	IPBlocks             []string `yaml:"ipBlocks"`
	NotIPBlocks          []string `yaml:"notIpBlocks"`
	RemoteIPBlocks       []string `yaml:"remoteIpBlocks"`
	NotRemoteIPBlocks    []string `yaml:"notRemoteIpBlocks"`
	ServiceAccounts      []string `yaml:"serviceAccounts"`
	NotServiceAccounts   []string `yaml:"notServiceAccounts"`
}

type apOperation struct {
	Hosts      []string `yaml:"hosts"`
	NotHosts   []string `yaml:"notHosts"`
	Ports      []string `yaml:"ports"`
	NotPorts   []string `yaml:"notPorts"`
	Methods    []string `yaml:"methods"`
	NotMethods []string `yaml:"notMethods"`
	Paths      []string `yaml:"paths"`
	NotPaths   []string `yaml:"notPaths"`
}

type apCondition struct {
	Key       string   `yaml:"key"`
	Values    []string `yaml:"values"`
	NotValues []string `yaml:"notValues"`
}

type peerAuthenticationSpec struct {
	Selector *workloadSelector `yaml:"selector"`
	MTLS     *struct {
		Mode string `yaml:"mode"`
	} `yaml:"mtls"`
	PortLevelMTLS map[string]struct {
		Mode string `yaml:"mode"`
	} `yaml:"portLevelMtls"`
}

// --- Istio networking (networking.istio.io/v1, v1beta1, v1alpha3) ---

type tlsSettings struct {
	Mode string `yaml:"mode"`
}

type localityLB struct {
	Enabled    *bool `yaml:"enabled"`
	Distribute []struct {
		From string           `yaml:"from"`
		To   map[string]int32 `yaml:"to"`
	} `yaml:"distribute"`
	Failover []struct {
		From string `yaml:"from"`
		To   string `yaml:"to"`
	} `yaml:"failover"`
	FailoverPriority []string `yaml:"failoverPriority"`
}

type trafficPolicy struct {
	TLS          *tlsSettings `yaml:"tls"`
	LoadBalancer *struct {
		LocalityLbSetting *localityLB `yaml:"localityLbSetting"`
	} `yaml:"loadBalancer"`
	OutlierDetection  *yaml.Node `yaml:"outlierDetection"`
	PortLevelSettings []struct {
		Port struct {
			Number int32 `yaml:"number"`
		} `yaml:"port"`
		TLS *tlsSettings `yaml:"tls"`
	} `yaml:"portLevelSettings"`
}

type destinationRuleSpec struct {
	Host          string         `yaml:"host"`
	TrafficPolicy *trafficPolicy `yaml:"trafficPolicy"`
	Subsets       []struct {
		Name          string            `yaml:"name"`
		Labels        map[string]string `yaml:"labels"`
		TrafficPolicy *trafficPolicy    `yaml:"trafficPolicy"`
	} `yaml:"subsets"`
	ExportTo         []string          `yaml:"exportTo"`
	WorkloadSelector *workloadSelector `yaml:"workloadSelector"`
}

type stringMatch struct {
	Exact  *string `yaml:"exact"`
	Prefix *string `yaml:"prefix"`
	Regex  *string `yaml:"regex"`
}

type routeDestination struct {
	Destination struct {
		Host   string `yaml:"host"`
		Subset string `yaml:"subset"`
		Port   *struct {
			Number int32 `yaml:"number"`
		} `yaml:"port"`
	} `yaml:"destination"`
	Weight int32 `yaml:"weight"`
}

type httpRoute struct {
	Name  string `yaml:"name"`
	Match []struct {
		Headers      map[string]stringMatch `yaml:"headers"`
		URI          *stringMatch           `yaml:"uri"`
		Method       *stringMatch           `yaml:"method"`
		Port         int32                  `yaml:"port"`
		SourceLabels map[string]string      `yaml:"sourceLabels"`
		Gateways     []string               `yaml:"gateways"`
	} `yaml:"match"`
	Route []routeDestination `yaml:"route"`
}

type l4Route struct {
	Match []struct {
		Port         int32             `yaml:"port"`
		SniHosts     []string          `yaml:"sniHosts"`
		SourceLabels map[string]string `yaml:"sourceLabels"`
		Gateways     []string          `yaml:"gateways"`
	} `yaml:"match"`
	Route []routeDestination `yaml:"route"`
}

type virtualServiceSpec struct {
	Hosts    []string    `yaml:"hosts"`
	Gateways []string    `yaml:"gateways"`
	ExportTo []string    `yaml:"exportTo"`
	HTTP     []httpRoute `yaml:"http"`
	TCP      []l4Route   `yaml:"tcp"`
	TLS      []l4Route   `yaml:"tls"`
}

type serviceEntrySpec struct {
	Hosts     []string `yaml:"hosts"`
	Addresses []string `yaml:"addresses"`
	Ports     []struct {
		Number   int32  `yaml:"number"`
		Name     string `yaml:"name"`
		Protocol string `yaml:"protocol"`
	} `yaml:"ports"`
	Location   string   `yaml:"location"`
	Resolution string   `yaml:"resolution"`
	ExportTo   []string `yaml:"exportTo"`
}

// --- core v1 Service ---

type serviceSpec struct {
	Type     string            `yaml:"type"`
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Name        string   `yaml:"name"`
		Port        int32    `yaml:"port"`
		TargetPort  intOrStr `yaml:"targetPort"`
		Protocol    string   `yaml:"protocol"`
		AppProtocol string   `yaml:"appProtocol"`
	} `yaml:"ports"`
}

// --- OpenStack security groups (Neutron API bodies, as intentc writes them) ---

type sgFile struct {
	Cloud   string    `yaml:"cloud"`
	Project string    `yaml:"project"`
	Groups  []sgGroup `yaml:"security_groups"`
}

type sgGroup struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Description  string   `yaml:"description"`
	Rules        []sgRule `yaml:"rules"`
	NeutronRules []sgRule `yaml:"security_group_rules"`
}

type sgRule struct {
	Direction            string `yaml:"direction"`
	Ethertype            string `yaml:"ethertype"`
	Protocol             scalar `yaml:"protocol"`
	PortMin              *int32 `yaml:"port_range_min"`
	PortMax              *int32 `yaml:"port_range_max"`
	RemoteIPPrefix       scalar `yaml:"remote_ip_prefix"`
	RemoteGroup          string `yaml:"remote_group"`
	RemoteGroupID        string `yaml:"remote_group_id"`
	RemoteAddressGroupID string `yaml:"remote_address_group_id"`
	Description          string `yaml:"description"`
}

// PortInventory is the union of security groups on each Neutron port of a
// cluster's nodes, as `intentc openstack plan` reports it. With it layer 1
// is judged for every group on the node ports, not for intentc's group alone.
type PortInventory struct {
	Ports []InventoryPort `yaml:"ports" json:"ports"`
}

// InventoryPort is one node port and the groups attached to it.
type InventoryPort struct {
	Cluster string    `yaml:"cluster" json:"cluster"`
	Name    string    `yaml:"name" json:"name"`
	ID      string    `yaml:"id" json:"id,omitempty"`
	Groups  []sgGroup `yaml:"security_groups" json:"-"`
}
