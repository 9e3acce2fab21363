package controller

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodNADKeys(t *testing.T) {
	cases := []struct {
		name       string
		annotation string
		want       []string
	}{
		{"no annotation", "", nil},
		{"short form", "red", []string{"default/red"}},
		{"several with namespace", "red, other/blue", []string{"default/red", "other/blue"}},
		{"JSON form", `[{"name":"red","namespace":"other"},{"name":"blue","interface":"net5"}]`, []string{"other/red", "default/blue"}},
		{"malformed", `[{}]`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := testPod("web", "b1111111-2222-4333-8444-555555555555", c.annotation)
			if c.annotation == "" {
				pod.Annotations = nil
			}
			if got := podNADKeys(pod); !slices.Equal(got, c.want) {
				t.Errorf("podNADKeys(%q) = %q, want %q", c.annotation, got, c.want)
			}
		})
	}
}

func TestPodNADKeysIgnoresOtherObjects(t *testing.T) {
	if got := podNADKeys(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}); got != nil {
		t.Errorf("podNADKeys(ConfigMap) = %q, want none", got)
	}
}

func TestPodsForNADReturnsSelectingPodsOnly(t *testing.T) {
	red := contrailNAD("red", "default-domain:demo:red")
	f := newFixture(t, red,
		testPod("a", "a1111111-2222-4333-8444-555555555555", "red"),
		testPod("b", "b1111111-2222-4333-8444-555555555555", "blue, red"),
		testPod("c", "c1111111-2222-4333-8444-555555555555", "blue"),
		testPod("d", "d1111111-2222-4333-8444-555555555555", "other/red"),
	)
	var got []string
	for _, req := range f.r.podsForNAD(context.Background(), red) {
		got = append(got, req.Name)
	}
	slices.Sort(got)
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("podsForNAD(default/red) = %q, want %q", got, want)
	}
}
