// The built-in data sets, one entry each (your own corpora go in a file named by
// HSL_BIONER_CORPORA, with the same fields; see corpora.libsonnet):
//   name        the task name (used in metrics: <name>_f1, and in `allennlp evaluate NAME=file`)
//   folder      the folder that holds train.tsv, devel.tsv and test.tsv: a sub-folder of the data
//               root (HSL_BIONER_DATA), or an absolute path
//   category    its entity category (MTL-XC and MTL-LS group data sets by category)
//   entity_type the entity type written in its files, or a list of them; each is mapped to the
//               category's type so that `Simple_chemical`, `CHEBI` and `Chemical` become one label
//   other_types (optional) types in its files that are not of the category: mapped to 'O' (their
//               entities are dropped); a type in neither list would stay a label of its own
{
  // The unified entity type of each category.
  category_types: {
    chemical: 'Chemical',
    disease: 'Disease',
    gene: 'Gene',
    species: 'Species',
  },

  // Crichton et al. (2017) IOB corpora, with their folder names in the data/ folder of
  // github.com/cambridgeltl/MTL-Bioinformatics-2016. ../shared/data/MTL-Bioinformatics-2016 holds
  // all of them but BC2GM, BC4CHEMD, JNLPBA and LINNAEUS.
  //
  // JNLPBA (GENIA: protein, DNA, RNA, cell_line, cell_type) is in the paper's gene/protein
  // category. protein, DNA and RNA are its Gene type, as in the category's other corpora, whose
  // gene-or-gene-product types (GGP, Gene_or_gene_product, BC2GM's GENE) cover genes, their
  // transcripts and their proteins; cell_line and cell_type are not gene products: 'O'. (GENIA's
  // DNA also covers DNA regions such as promoters and binding sites; an entry of your own with
  // another name can map JNLPBA differently.) BC4CHEMD's type is 'Chemical', the CHEMDNER
  // corpus' single class; its files (too large for the stored copy of that repository) have not
  // been read here.
  corpora: [
    { name: 'BC4CHEMD', folder: 'BC4CHEMD', category: 'chemical', entity_type: 'Chemical' },
    { name: 'BC5CDR-chem', folder: 'BC5CDR-chem-IOB', category: 'chemical', entity_type: 'Chemical' },
    { name: 'BioNLP11ID-chem', folder: 'BioNLP11ID-chem-IOB', category: 'chemical', entity_type: 'Chemical' },
    { name: 'BioNLP13CG-chem', folder: 'BioNLP13CG-chem-IOB', category: 'chemical', entity_type: 'Simple_chemical' },
    { name: 'BioNLP13PC-chem', folder: 'BioNLP13PC-chem-IOB', category: 'chemical', entity_type: 'Simple_chemical' },
    { name: 'CRAFT-chem', folder: 'CRAFT-chem-IOB', category: 'chemical', entity_type: 'CHEBI' },
    { name: 'BC5CDR-disease', folder: 'BC5CDR-disease-IOB', category: 'disease', entity_type: 'Disease' },
    { name: 'NCBI-disease', folder: 'NCBI-disease-IOB', category: 'disease', entity_type: 'Disease' },
    { name: 'BC2GM', folder: 'BC2GM-IOB', category: 'gene', entity_type: 'GENE' },
    { name: 'BioNLP09', folder: 'BioNLP09-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP11EPI', folder: 'BioNLP11EPI-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP11ID-ggp', folder: 'BioNLP11ID-ggp-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP13CG-ggp', folder: 'BioNLP13CG-ggp-IOB', category: 'gene', entity_type: 'Gene_or_gene_product' },
    { name: 'BioNLP13GE', folder: 'BioNLP13GE-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP13PC-ggp', folder: 'BioNLP13PC-ggp-IOB', category: 'gene', entity_type: 'Gene_or_gene_product' },
    { name: 'CRAFT-ggp', folder: 'CRAFT-ggp-IOB', category: 'gene', entity_type: 'GGP' },
    { name: 'Ex-PTM', folder: 'Ex-PTM-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'JNLPBA', folder: 'JNLPBA', category: 'gene', entity_type: ['protein', 'DNA', 'RNA'],
      other_types: ['cell_line', 'cell_type'] },
    { name: 'BioNLP11ID-species', folder: 'BioNLP11ID-species-IOB', category: 'species', entity_type: 'Organism' },
    { name: 'BioNLP13CG-species', folder: 'BioNLP13CG-species-IOB', category: 'species', entity_type: 'Organism' },
    { name: 'CRAFT-species', folder: 'CRAFT-species-IOB', category: 'species', entity_type: 'NCBITaxon' },
    { name: 'LINNAEUS', folder: 'linnaeus-IOB', category: 'species', entity_type: 'Species' },
  ],

  // The synthetic corpora in fixtures/data, for tests and the demo.
  fixtures: [
    { name: 'disease_a', folder: 'disease_a', category: 'disease', entity_type: 'Disease' },
    { name: 'disease_b', folder: 'disease_b', category: 'disease', entity_type: 'DISO' },
    { name: 'chem_a', folder: 'chem_a', category: 'chemical', entity_type: 'Chemical' },
    { name: 'chem_b', folder: 'chem_b', category: 'chemical', entity_type: 'Simple_chemical' },
    { name: 'gene_a', folder: 'gene_a', category: 'gene', entity_type: 'Protein' },
    { name: 'species_a', folder: 'species_a', category: 'species', entity_type: 'Organism' },
  ],
}
