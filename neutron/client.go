package neutron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// Environment variables of the keystone-less mode (tests, and a Neutron
// reached without Keystone): the endpoint, and the identity Neutron's
// keystonecontext filter trusts from request headers.
const (
	EnvEndpoint = "INTENTC_NEUTRON_ENDPOINT"   // e.g. http://127.0.0.1:9696/
	EnvProject  = "INTENTC_NEUTRON_PROJECT_ID" // X-Project-Id; default: the document's project
	EnvUser     = "INTENTC_NEUTRON_USER_ID"    // X-User-Id; default "intentc"
	EnvRoles    = "INTENTC_NEUTRON_ROLES"      // X-Roles; default "member"
)

// Client is what plan and apply talk to: Neutron, scoped to one project, and
// Nova when the cloud has it (for node servers' metadata).
type Client struct {
	Network *gophercloud.ServiceClient
	// Compute is nil when there is no Nova (the keystone-less mode).
	Compute *gophercloud.ServiceClient
	// ProjectID scopes every list; groups are created in it.
	ProjectID string
	// Describe says how the client was configured, for messages.
	Describe string
}

// NewNoAuthClient talks to a Neutron without Keystone, sending the identity
// headers keystonemiddleware would otherwise add.
func NewNoAuthClient(endpoint, projectID, userID, roles string) *Client {
	ep := gophercloud.NormalizeURL(endpoint)
	if !strings.HasSuffix(strings.TrimSuffix(ep, "/"), "/v2.0") {
		ep += "v2.0/"
	}
	base := strings.TrimSuffix(strings.TrimSuffix(ep, "/"), "v2.0")
	pc := &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 2 * time.Minute}, UserAgent: gophercloud.UserAgent{}}
	pc.UserAgent.Prepend("intentc")
	return &Client{
		Network: &gophercloud.ServiceClient{
			ProviderClient: pc,
			Endpoint:       base,
			ResourceBase:   ep,
			Type:           "network",
			MoreHeaders:    map[string]string{"X-Project-Id": projectID, "X-User-Id": userID, "X-Roles": roles},
		},
		ProjectID: projectID,
		Describe:  fmt.Sprintf("%s (keystone-less, project %s)", base, projectID),
	}
}

// ClientFromEnvironment builds the client for one document's cloud and
// project. In order:
//
//  1. INTENTC_NEUTRON_ENDPOINT set: the keystone-less mode (NewNoAuthClient),
//     project from INTENTC_NEUTRON_PROJECT_ID or the document;
//  2. a clouds.yaml entry (gophercloud's search: OS_CLIENT_CONFIG_FILE, ./,
//     ~/.config/openstack/, /etc/openstack/) named OS_CLOUD, or else named
//     as the document's cloud;
//  3. the OS_* variables (OS_AUTH_URL, OS_USERNAME, OS_APPLICATION_CREDENTIAL_ID, ...).
//
// The token must be scoped to the document's project (by name or ID):
// intentc never writes to a project the intent does not name.
func ClientFromEnvironment(ctx context.Context, cloud, project string) (*Client, error) {
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		pid := cmpOr(os.Getenv(EnvProject), project)
		return NewNoAuthClient(ep, pid, cmpOr(os.Getenv(EnvUser), "intentc"), cmpOr(os.Getenv(EnvRoles), "member")), nil
	}
	entry := cmpOr(os.Getenv("OS_CLOUD"), cloud)
	ao, eo, tlsConfig, err := clouds.Parse(clouds.WithCloudName(entry))
	how := fmt.Sprintf("clouds.yaml entry %q", entry)
	if err != nil {
		if os.Getenv("OS_AUTH_URL") == "" {
			return nil, fmt.Errorf("no credentials for cloud %q: %v; set OS_CLOUD / a clouds.yaml entry named %q, or the OS_* variables (docs/openstack.md)", cloud, err, cloud)
		}
		var envErr error
		ao, envErr = openstack.AuthOptionsFromEnv()
		if envErr != nil {
			return nil, fmt.Errorf("no credentials for cloud %q: %v", cloud, envErr)
		}
		eo = gophercloud.EndpointOpts{Region: os.Getenv("OS_REGION_NAME")}
		tlsConfig, how = nil, "OS_* environment variables"
	}
	ao.AllowReauth = true
	pc, err := config.NewProviderClient(ctx, ao, config.WithTLSConfig(tlsConfig),
		config.WithHTTPClient(http.Client{Timeout: 2 * time.Minute}))
	if err != nil {
		return nil, fmt.Errorf("authenticating to cloud %q with the %s: %w", cloud, how, err)
	}
	nw, err := openstack.NewNetworkV2(pc, eo)
	if err != nil {
		return nil, fmt.Errorf("cloud %q: no network (Neutron) endpoint in the catalog: %w", cloud, err)
	}
	c := &Client{Network: nw, Describe: fmt.Sprintf("cloud %q (%s)", cloud, how)}
	if cp, err := openstack.NewComputeV2(pc, eo); err == nil {
		c.Compute = cp
	}
	if ar, ok := pc.GetAuthResult().(tokens.CreateResult); ok {
		p, err := ar.ExtractProject()
		if err == nil && p != nil {
			if p.ID != project && p.Name != project {
				return nil, fmt.Errorf("the credentials for cloud %q (%s) are scoped to project %s (%s), but the security groups are for project %q: scope them to that project", cloud, how, p.Name, p.ID, project)
			}
			c.ProjectID = p.ID
		}
	}
	if c.ProjectID == "" {
		return nil, fmt.Errorf("the credentials for cloud %q (%s) are not scoped to a project: scope them to %q", cloud, how, project)
	}
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// APIError is a Neutron error reply: its HTTP status and NeutronError type
// and message (the 401 of a missing identity has an HTML body and no type).
type APIError struct {
	Op      string
	Status  int
	Type    string
	Message string
	Err     error
}

func (e *APIError) Error() string {
	t := e.Type
	if t == "" {
		t = http.StatusText(e.Status)
	}
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	return fmt.Sprintf("%s: Neutron %d %s: %s", e.Op, e.Status, t, msg)
}

func (e *APIError) Unwrap() error { return e.Err }

// apiError wraps a gophercloud error with what was being done, decoding a
// NeutronError body when there is one.
func apiError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", op, err)
	}
	ae := &APIError{Op: op, Status: ue.Actual, Err: err}
	var body struct {
		NeutronError struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"NeutronError"`
	}
	if json.Unmarshal(ue.Body, &body) == nil && body.NeutronError.Type != "" {
		ae.Type, ae.Message = body.NeutronError.Type, body.NeutronError.Message
	} else {
		ae.Message = strings.TrimSpace(firstLine(string(ue.Body)))
	}
	return ae
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// errorType is the NeutronError type of err ("" when none).
func errorType(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Type
	}
	return ""
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}
