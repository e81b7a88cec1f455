package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decodeStrict decodes one YAML document into v the way the API server
// would refuse it: a field v does not have, a field spelt in another case
// (encoding/json would quietly accept "ReadinessProbe"), or a key given
// twice is an error, not something to ignore.
func decodeStrict(doc []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(js, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// kinds are the objects a manifest may hold, by apiVersion and kind, each
// with the official type it decodes into. Anything else is an error, so a
// misspelt kind or an old API version cannot slip through undecoded.
var kinds = map[string]func() any{
	"v1 ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1 Secret":                              func() any { return new(corev1.Secret) },
	"v1 Service":                             func() any { return new(corev1.Service) },
	"v1 PersistentVolumeClaim":               func() any { return new(corev1.PersistentVolumeClaim) },
	"apps/v1 Deployment":                     func() any { return new(appsv1.Deployment) },
	"apps/v1 StatefulSet":                    func() any { return new(appsv1.StatefulSet) },
	"batch/v1 Job":                           func() any { return new(batchv1.Job) },
	"policy/v1 PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2 HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"networking.k8s.io/v1 Ingress":           func() any { return new(networkingv1.Ingress) },
	"networking.k8s.io/v1 NetworkPolicy":     func() any { return new(networkingv1.NetworkPolicy) },
}

// object is one document of a manifest, decoded.
type object struct {
	file  string
	doc   int    // the document's number in the file, from 1
	kind  string // "Deployment"
	name  string
	value any // a pointer to the k8s.io/api type
}

func (o object) String() string { return fmt.Sprintf("%s #%d %s %q", o.file, o.doc, o.kind, o.name) }

// decodeManifest decodes every document of a multi-document YAML file.
// Documents with nothing but comments are skipped.
func decodeManifest(name string, data []byte) ([]object, error) {
	var objs []object
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s #%d: %w", name, n, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s #%d: %w", name, n, err)
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := json.Unmarshal(js, &head); err != nil {
			return nil, fmt.Errorf("%s #%d: %w", name, n, err)
		}
		newObj, ok := kinds[head.APIVersion+" "+head.Kind]
		if !ok {
			return nil, fmt.Errorf("%s #%d: apiVersion %q kind %q is not one these tests know", name, n, head.APIVersion, head.Kind)
		}
		v := newObj()
		if err := decodeStrict(doc, v); err != nil {
			return nil, fmt.Errorf("%s #%d (%s): %w", name, n, head.Kind, err)
		}
		meta := metaOf(v)
		if meta == "" {
			return nil, fmt.Errorf("%s #%d (%s): no metadata.name", name, n, head.Kind)
		}
		objs = append(objs, object{file: name, doc: n, kind: head.Kind, name: meta, value: v})
	}
}

// metaOf is the name of a decoded object.
func metaOf(v any) string {
	if o, ok := v.(interface{ GetName() string }); ok {
		return o.GetName()
	}
	return ""
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeStrictRefusesWhatTheAPIServerWould(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"misspelt field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n"},
		{"field in another case", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {Selector: {a: b}}\n"},
		{"key given twice", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n"},
		{"wrong type", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {GUESTS: true}\n"},
		{"bad quantity", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\nspec: {resources: {requests: {storage: 10 gigs}}}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeManifest("test.yaml", []byte(tc.doc)); err == nil {
				t.Errorf("decoded without an error:\n%s", tc.doc)
			}
		})
	}
	good := "# a comment\n---\napiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selector: {a: b}}\n---\n"
	objs, err := decodeManifest("test.yaml", []byte(good))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decodeManifest(good) = %v, %v; want one Service", objs, err)
	}
	if _, err := decodeManifest("test.yaml", []byte("apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: x}\n")); err == nil {
		t.Error("an old API version decoded without an error")
	}
}
