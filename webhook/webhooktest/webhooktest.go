// Package webhooktest helps test the admission webhook: a throwaway PKI
// (a CA and a serving certificate for loopback), AdmissionReview bodies,
// and an HTTPS client that trusts the CA. It is used by the webhook's own
// tests, the end-to-end tests and the load benchmark.
//
// Input: a directory to write the PKI into; objects as JSON-able values.
// Output: files, request bodies and clients. Diagnostic codes: none.
package webhooktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// PKI is a CA and a serving certificate signed by it, written as
// ca.crt, tls.crt and tls.key (the names cert-manager uses).
type PKI struct {
	Dir      string
	CAFile   string
	CertFile string
	KeyFile  string
	CAPEM    []byte

	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

// NewPKI creates the CA and a serving certificate for 127.0.0.1, ::1 and
// localhost in dir.
func NewPKI(dir string) (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "intentc-webhook-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p := &PKI{
		Dir: dir, CAFile: filepath.Join(dir, "ca.crt"), CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
		CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), caCert: ca, caKey: key, serial: 1,
	}
	if err := os.WriteFile(p.CAFile, p.CAPEM, 0o600); err != nil {
		return nil, err
	}
	if _, err := p.Issue(); err != nil {
		return nil, err
	}
	return p, nil
}

// Issue writes a new serving certificate and key (as a renewal would) and
// returns the certificate's serial number.
func (p *PKI) Issue() (int64, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return 0, err
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: "intentc-webhook"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return 0, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return 0, err
	}
	// Written beside and renamed into place, as the kubelet swaps a
	// Secret volume: a reader never sees half a file.
	if err := writeAtomic(p.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return 0, err
	}
	if err := writeAtomic(p.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})); err != nil {
		return 0, err
	}
	return p.serial, nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Client returns an HTTPS client trusting the PKI's CA, with TLS 1.2 or
// newer, keeping up to conns idle connections per host.
func (p *PKI) Client(conns int) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CAPEM)
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			ForceAttemptHTTP2:   false,
		},
	}
}

// Review is an AdmissionReview request body (admission.k8s.io/v1).
type Review struct {
	UID       string
	Operation string // CREATE, UPDATE, DELETE
	User      string
	Object    any // nil for DELETE
	OldObject any // nil for CREATE
}

// JSON renders the review. Group, version, kind, namespace and name come
// from the object (the old one for DELETE).
func (r Review) JSON() ([]byte, error) {
	src := r.Object
	if src == nil {
		src = r.OldObject
	}
	raw, err := json.Marshal(src)
	if err != nil {
		return nil, err
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	group, version := "", meta.APIVersion
	if g, v, ok := cut(meta.APIVersion); ok {
		group, version = g, v
	}
	// Fields in the order kube-apiserver writes them (uid first), which
	// the webhook relies on to answer an oversized request.
	type gvk struct {
		Group   string `json:"group"`
		Version string `json:"version"`
		Kind    string `json:"kind"`
	}
	type gvr struct {
		Group    string `json:"group"`
		Version  string `json:"version"`
		Resource string `json:"resource"`
	}
	type request struct {
		UID       string          `json:"uid"`
		Kind      gvk             `json:"kind"`
		Resource  gvr             `json:"resource"`
		Name      string          `json:"name,omitempty"`
		Namespace string          `json:"namespace,omitempty"`
		Operation string          `json:"operation"`
		UserInfo  map[string]any  `json:"userInfo"`
		Object    json.RawMessage `json:"object,omitempty"`
		OldObject json.RawMessage `json:"oldObject,omitempty"`
	}
	req := request{
		UID:       r.UID,
		Kind:      gvk{group, version, meta.Kind},
		Resource:  gvr{group, version, lowerPlural(meta.Kind)},
		Name:      meta.Metadata.Name,
		Namespace: meta.Metadata.Namespace,
		Operation: r.Operation,
		UserInfo:  map[string]any{"username": or(r.User, "test-user")},
	}
	if r.Object != nil {
		if req.Object, err = json.Marshal(r.Object); err != nil {
			return nil, err
		}
	}
	if r.OldObject != nil {
		if req.OldObject, err = json.Marshal(r.OldObject); err != nil {
			return nil, err
		}
	}
	return json.Marshal(struct {
		APIVersion string  `json:"apiVersion"`
		Kind       string  `json:"kind"`
		Request    request `json:"request"`
	}{"admission.k8s.io/v1", "AdmissionReview", req})
}

func cut(apiVersion string) (string, string, bool) {
	for i := len(apiVersion) - 1; i >= 0; i-- {
		if apiVersion[i] == '/' {
			return apiVersion[:i], apiVersion[i+1:], true
		}
	}
	return "", "", false
}

func lowerPlural(kind string) string {
	b := []byte(kind)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	s := string(b)
	switch {
	case len(s) > 0 && s[len(s)-1] == 'y':
		return s[:len(s)-1] + "ies"
	case len(s) > 0 && s[len(s)-1] == 's':
		return s + "es"
	}
	return s + "s"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Response is the part of an AdmissionReview answer tests look at.
type Response struct {
	UID      string   `json:"uid"`
	Allowed  bool     `json:"allowed"`
	Warnings []string `json:"warnings"`
	Result   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

// ParseResponse decodes an AdmissionReview answer.
func ParseResponse(body []byte) (*Response, error) {
	var r struct {
		APIVersion string    `json:"apiVersion"`
		Kind       string    `json:"kind"`
		Response   *Response `json:"response"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	if r.APIVersion != "admission.k8s.io/v1" || r.Kind != "AdmissionReview" || r.Response == nil {
		return nil, fmt.Errorf("not an admission.k8s.io/v1 AdmissionReview answer: %.200s", body)
	}
	return r.Response, nil
}
